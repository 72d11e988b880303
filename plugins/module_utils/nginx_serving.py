# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether nginx already serves a site, and so whether a new sandbox may restart it now.

A sandbox (a drop-in of nginx.service) applies only to a new main process, and a restart of nginx
closes its listening sockets for a moment: every connection made then is refused. That costs
nothing on a proxy that serves only Debian's welcome page (a first deploy) and fails requests on
one that serves a site (a take-over from an nginx written by hand, a change of the sandbox on a
running fleet). Read top to bottom: 1. the checksums dpkg knows of nginx's shipped configuration;
2. the enabled configuration files, each as a :class:`Site`; 3. the :class:`Verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: ``galaxy_nginx_sandbox_restart``: restart for a new sandbox only an nginx that serves no site
#: yet (``auto``), always, or never (the sandbox then applies at nginx's next restart).
POLICIES = ("auto", "always", "never")


# ------------------------------------------------------------------ 1. what Debian ships
def shipped_sums(conffiles: str) -> dict[str, str]:
    """Path -> md5 of the configuration files a package ships (``dpkg-query -f '${Conffiles}'``).

    Lines read `` /etc/nginx/sites-available/default 3f4b...``, optionally followed by ``obsolete``.
    """
    sums: dict[str, str] = {}
    for line in conffiles.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].startswith("/"):
            sums[words[0]] = words[1]
    return sums


# ------------------------------------------------------------------ 2. the enabled configuration
@dataclass(frozen=True)
class Site:
    """An enabled configuration file of nginx (a file of ``sites-enabled/`` or ``conf.d/``)."""

    path: str
    #: the file as its package shipped it (Debian's welcome page)
    shipped: bool


def site(path: str, target: str, md5: str, sums: dict[str, str]) -> Site:
    """A :class:`Site`: shipped when its content (``md5``) is what dpkg recorded for the file it resolves
    to (``target``, the target of a ``sites-enabled`` link) or for its own path."""
    return Site(path=path, shipped=md5 != "" and md5 in (sums.get(target), sums.get(path)))


# ------------------------------------------------------------------ 3. the verdict
@dataclass(frozen=True)
class Verdict:
    """What the role does with a new or changed sandbox of nginx.service."""

    active: bool
    #: the enabled files that serve a site: every one but those shipped as they are
    serving: list[str] = field(default_factory=list)
    restart: bool = False
    reason: str = ""


def verdict(active: bool, sites: list[Site], policy: str = "auto") -> Verdict:
    """Whether a new sandbox may restart nginx now, and why (one sentence for the play's output)."""
    if policy not in POLICIES:
        raise ValueError(f"galaxy_nginx_sandbox_restart must be one of {', '.join(POLICIES)}, not {policy!r}")
    serving = sorted(s.path for s in sites if not s.shipped)
    if policy == "always":
        return Verdict(active, serving, True, "galaxy_nginx_sandbox_restart is always: nginx restarts into its sandbox")
    if not active:
        return Verdict(active, serving, True, "nginx is not running: it starts in its sandbox")
    if policy == "never":
        return Verdict(active, serving, False, "galaxy_nginx_sandbox_restart is never: the sandbox applies at nginx's "
                                               "next restart")
    if not serving:
        return Verdict(active, serving, True, "nginx serves nothing but what its package shipped: it restarts into "
                                              "its sandbox now")
    return Verdict(active, serving, False,
                   f"nginx serves {', '.join(serving)} now and a restart would refuse connections for a moment: "
                   "its sandbox applies at its next restart (systemctl restart nginx at a quiet time, or "
                   "galaxy_nginx_sandbox_restart: always)")
