"""display_lines in a real ansible-playbook run: the result format is read from Ansible's configuration."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

ROWS = ["host       unit                       state", "web1       galaxy-gunicorn@0.service  active/running " + "x" * 90]


def _run_playbook(tmp_path, result_format):
    playbook = tmp_path / "show.yml"
    playbook.write_text(textwrap.dedent(f"""\
        - hosts: localhost
          gather_facts: false
          tasks:
            - ansible.builtin.debug:
                msg: "{{{{ {ROWS!r} | galaxyops.fleet.display_lines }}}}"
        """))
    env = {**os.environ, "ANSIBLE_CALLBACK_RESULT_FORMAT": result_format, "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"}
    playbook_cmd = shutil.which("ansible-playbook", path=os.path.dirname(sys.executable)) or "ansible-playbook"
    out = subprocess.run([playbook_cmd, str(playbook)], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    return out.stdout


def test_ansible_playbook_prints_each_row_whole_in_both_formats(tmp_path):
    yaml_out = _run_playbook(tmp_path, "yaml")
    # the literal block: every row on a line of its own, indented, not folded
    assert "msg: |-" in yaml_out
    assert all(any(line.strip() == row for line in yaml_out.splitlines()) for row in ROWS)
    json_out = _run_playbook(tmp_path, "json")
    assert all(f'"{row}"' in json_out for row in ROWS)
