"""The galaxy_nginx_serving module: its spec agrees with DOCUMENTATION; it reads real files and dpkg's sums."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import yaml

from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc
from ansible_collections.galaxyops.fleet.plugins.modules import galaxy_nginx_serving as mod

WELCOME = b"server { listen 80 default_server; root /var/www/html; }\n"


class Module(SimpleNamespace):
    def __init__(self, conffiles, **params):
        super().__init__(params={**{"policy": "auto", "packages": ["nginx-common"]}, **params}, conffiles=conffiles,
                         calls=[])

    def get_bin_path(self, name, required=False):
        return "/usr/bin/" + name

    def run_command(self, cmd):
        self.calls.append(cmd)
        return 0, self.conffiles, ""


def test_argument_spec_is_the_documented_one():
    assert mod.ARGUMENT_SPEC == spec_from_doc(yaml.safe_load(mod.DOCUMENTATION)["options"])
    for block in (mod.EXAMPLES, mod.RETURN):
        yaml.safe_load(block)


def layout(tmp_path, default_content):
    tmp_path.mkdir(parents=True, exist_ok=True)
    available, enabled, confd = tmp_path / "sites-available", tmp_path / "sites-enabled", tmp_path / "conf.d"
    for d in (available, enabled, confd):
        d.mkdir()
    (available / "default").write_bytes(WELCOME)
    if default_content is None:
        (enabled / "default").symlink_to(available / "default")
    else:
        (enabled / "default").write_bytes(default_content)
    conffiles = f" {available / 'default'} {hashlib.md5(WELCOME).hexdigest()}\n"
    return Module(conffiles, include=[f"{enabled}/*", f"{confd}/*.conf"]), enabled, confd


def test_the_untouched_default_site_is_not_a_site_but_one_written_by_hand_is(tmp_path):
    module, enabled, _confd = layout(tmp_path, None)
    assert [s.shipped for s in mod.sites(module, mod.shipped(module))] == [True]
    module, enabled, _confd = layout(tmp_path / "by-hand", b"upstream galaxy { server gx1:8080; }\n")
    found = mod.sites(module, mod.shipped(module))
    assert [(s.path, s.shipped) for s in found] == [(str(enabled / "default"), False)]


def test_the_collections_own_file_counts_as_a_site(tmp_path):
    module, _enabled, confd = layout(tmp_path, None)
    (confd / "galaxyops-fleet.conf").write_text("upstream galaxy {}\n")
    found = mod.sites(module, mod.shipped(module))
    assert sorted(s.path for s in found if not s.shipped) == [str(confd / "galaxyops-fleet.conf")]
    assert module.calls == [["/usr/bin/dpkg-query", "-W", "-f=${Conffiles}\n", "nginx-common"]]
