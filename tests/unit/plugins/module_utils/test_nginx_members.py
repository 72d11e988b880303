"""Drained upstream members: the plan's members, the record, the server lines, the change of one request."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.galaxyops.fleet.plugins.module_utils import nginx_members as nm

W0 = "web1/galaxy-gunicorn@0.service"
W1 = "web1/galaxy-gunicorn@1.service"
V0 = "web2/galaxy-gunicorn@0.service"


def plan(members=None, upstream="galaxy", **extra):
    members = members if members is not None else [
        {"host": "web1", "unit": "galaxy-gunicorn@0.service", "address": "10.0.0.1:8080"},
        {"host": "web1", "unit": "galaxy-gunicorn@1.service", "address": "10.0.0.1:8081"},
        {"host": "web2", "unit": "galaxy-gunicorn@0.service", "address": "10.0.0.2:8080"},
    ]
    instances = {"_default_": {"upstream": {"name": upstream, "members": members}}, **extra}
    return {"version": 1, "instances": instances}


def conf(down=()):
    lines = ["upstream galaxy {"]
    for mid, addr in ((W0, "10.0.0.1:8080"), (W1, "10.0.0.1:8081"), (V0, "10.0.0.2:8080")):
        flag = " down" if mid in down else ""
        lines.append(f"    server {addr} max_fails=1 fail_timeout=10s{flag};  # {mid}")
    return "\n".join(lines + ["    keepalive 32;", "}", ""])


def test_plan_members_sorted_by_instance_in_plan_order():
    other = {"upstream": {"name": "other", "members": [{"host": "web3", "unit": "g.service", "address": "10.0.0.3:80"}]}}
    members = nm.plan_members(plan(zz=other, aa={"upstream": {"name": "none", "members": []}}))
    assert [(m.instance, m.id, m.upstream) for m in members] == [
        ("_default_", W0, "galaxy"), ("_default_", W1, "galaxy"), ("_default_", V0, "galaxy"), ("zz", "web3/g.service", "other")]


@pytest.mark.parametrize("bad", [None, {"version": 2, "instances": {}}, {"version": 1}])
def test_plan_members_refuses_other_plans(bad):
    with pytest.raises(nm.MembersError, match="version 1"):
        nm.plan_members(bad)


def test_plan_members_refuses_duplicates_and_odd_upstream_names():
    twice = [{"host": "web1", "unit": "g.service", "address": "a:1"}] * 2
    with pytest.raises(nm.MembersError, match="unique: web1/g.service"):
        nm.plan_members(plan(twice))
    with pytest.raises(nm.MembersError, match="upstream name 'gal-axy'"):
        nm.plan_members(plan(upstream="gal-axy"))


def test_unix_socket_only_on_the_proxy_itself():
    sock = [{"host": "web1", "unit": "g.service", "address": "unix:/run/g.sock"}]
    assert len(nm.plan_members(plan(sock), "web1")) == 1
    assert len(nm.plan_members(plan(sock))) == 1  # no proxy named: not checked
    with pytest.raises(nm.MembersError, match=r"on proxy1 can reach .* only on its own host \(web1 are elsewhere\)"):
        nm.plan_members(plan(sock), "proxy1")


@pytest.mark.parametrize("text, expected", [
    (None, []),
    ("# head\ndown: []\n", []),
    ('down:\n  - "web1/a"\n  - plain/b\n  - \'it\'\'s/c\'\n', ["web1/a", "plain/b", "it's/c"]),
])
def test_parse_record(text, expected):
    assert nm.parse_record(text) == expected


def test_render_record_round_trips():
    text = nm.render_record([W0, V0])
    assert text.startswith(nm.RECORD_HEAD)
    assert text.endswith(f'down:\n  - "{W0}"\n  - "{V0}"\n')
    assert nm.parse_record(text) == [W0, V0]
    assert nm.render_record([]).endswith("down: []\n")


def test_toggle_sets_exactly_the_drained_members():
    text, seen = nm.toggle(conf([W1]), [W0], [W0, W1])
    assert text == conf([W0])
    assert seen == {W0, W1}  # V0 is not known, so left alone and not listed
    assert nm.toggle(conf([V0]), [], [W0])[0] == conf([V0])


def test_change_drain_then_undrain():
    members = nm.plan_members(plan())
    first = nm.plan_change(members, None, drain=[W0], conf_text=conf())
    assert (first.down_before, first.down, first.newly_drained) == ([], [W0], [W0])
    assert first.record_changed and first.conf_changed and first.changed
    assert first.conf_after == conf([W0])
    assert [m["down"] for m in first.members] == [True, False, False]

    again = nm.plan_change(members, first.record_after, drain=[W0], conf_text=first.conf_after)
    assert not again.changed and again.newly_drained == []

    back = nm.plan_change(members, first.record_after, undrain=[W0], drain=[W1], conf_text=first.conf_after)
    assert (back.down_before, back.down, back.newly_drained) == ([W0], [W1], [W1])
    assert back.conf_after == conf([W1])


def test_change_record_only_prunes_members_gone_from_the_plan():
    members = nm.plan_members(plan())
    record = nm.render_record([W0, "gone/galaxy-gunicorn@0.service"])
    change = nm.plan_change(members, record, update_conf=False)
    assert change.down == [W0] and change.record_changed
    assert change.conf_after is None and not change.conf_changed
    assert [d["before_header"] for d in change.diff("/state", "/conf")] == ["/state"]


def test_no_record_written_when_nothing_is_drained_and_none_exists():
    change = nm.plan_change(nm.plan_members(plan()), None, update_conf=False)
    assert not change.record_changed and change.down == []
    assert change.diff("/state", "/conf") == [{"before_header": "/state", "after_header": "/state", "before": "", "after": ""}]
    emptied = nm.plan_change(nm.plan_members(plan()), nm.render_record([W0]), undrain=[W0], update_conf=False)
    assert emptied.record_changed and emptied.record_after.endswith("down: []\n")


@pytest.mark.parametrize("kwargs, message", [
    ({"drain": ["web9/x.service"]}, "unknown: web9/x.service"),
    ({"drain": [W0], "undrain": [W0]}, "both drained and undrained"),
    ({"drain": [W0], "conf_text": None}, "/conf does not exist"),
    ({"drain": [W0], "conf_text": "upstream galaxy {\n}\n"}, f"/conf has no upstream server for {W0}"),
])
def test_change_refusals(kwargs, message):
    kwargs.setdefault("conf_text", conf())
    with pytest.raises(nm.MembersError, match=message):
        nm.plan_change(nm.plan_members(plan()), None, conf_file="/conf", **kwargs)


def test_instances_for_the_template():
    members = nm.plan_members(plan())
    out = nm.instances(members, [V0])
    assert list(out) == ["_default_"]
    assert out["_default_"]["upstream"] == "galaxy"
    assert [(m["id"], m["address"], m["down"]) for m in out["_default_"]["members"]] == [
        (W0, "10.0.0.1:8080", False), (W1, "10.0.0.1:8081", False), (V0, "10.0.0.2:8080", True)]


def test_stat_ppid_with_odd_process_names():
    assert nm.stat_ppid("123 (nginx: worker) S 45 123 123 0") == 45
    assert nm.stat_ppid("7 (a) b)) R 1 7") == 1
    assert nm.stat_ppid("garbage") is None


def test_tcp_peers_established_only():
    table = (
        "  sl  local_address rem_address   st tx_queue rx_queue\n"
        "   0: 0100007F:0050 0100000A:1F90 01 00000000:00000000\n"  # 127.0.0.1:80 -> 10.0.0.1:8080 established
        "   1: 0100007F:0050 0200000A:1F90 0A 00000000:00000000\n"  # listen: ignored
    )
    assert nm.tcp_peers(table, socket.AF_INET) == {("10.0.0.1", 8080)}
    six = ("header\n"
           "   0: 00000000000000000000000001000000:0050 0000000000000000FFFF00000100000A:1F90 01 0\n")
    assert nm.tcp_peers(six, socket.AF_INET6) == {("10.0.0.1", 8080)}


@pytest.mark.parametrize("address, target", [
    ("10.0.0.1:8080", ("10.0.0.1", 8080)), ("[::1]:8080", ("::1", 8080)), ("web1:80", ("web1", 80)),
    ("unix:/run/g.sock", None), ("nohost", None), ("h:port", None),
])
def test_tcp_target(address, target):
    assert nm.tcp_target(address) == target


def conf_of(ids, down=()):
    """A deployed configuration listing only ``ids`` (of W0, W1, V0)."""
    address = {W0: "10.0.0.1:8080", W1: "10.0.0.1:8081", V0: "10.0.0.2:8080"}
    lines = [f"    server {address[i]} max_fails=0 fail_timeout=10s{' down' if i in down else ''};  # {i}" for i in ids]
    return "\n".join(["upstream galaxy {", *lines, "}", ""])


def test_record_with_joining_members_round_trips():
    text = nm.render_record([W0], [V0])
    assert nm.parse_record(text) == [W0] and nm.parse_joining(text) == [V0]
    assert nm.render_record([W0]) == nm.RECORD_HEAD + f'down:\n  - "{W0}"\n'  # as before joining existed
    assert nm.parse_joining(nm.render_record([W0])) == []
    assert nm.parse_sections("down: []\njoining:\n  - a/b\n") == {"down": [], "joining": ["a/b"]}


def test_listed_reads_every_server_line_up_or_down():
    assert nm.listed(conf_of([W0, V0], down=[V0])) == {W0, V0}
    assert nm.listed(None) == set()


def test_scale_up_new_member_is_down_and_joining():
    members = nm.plan_members(plan())
    change = nm.plan_change(members, None, conf_text=conf_of([W0, V0]), update_conf=False, hold_new=True)
    assert (change.joining.new, change.joining.after, change.joining.at_once) == ([W1], [W1], [])
    assert [(m["id"], m["down"], m["joining"]) for m in change.members] == [
        (W0, False, False), (W1, True, True), (V0, False, False)]
    assert change.down == [] and change.record_changed
    assert nm.parse_joining(change.record_after) == [W1] and nm.parse_record(change.record_after) == []


def test_joining_member_stays_down_on_every_run_until_admitted():
    members = nm.plan_members(plan())
    first = nm.plan_change(members, None, conf_text=conf_of([W0, V0]), update_conf=False, hold_new=True)
    # the role rendered it down; a later run finds it listed and keeps it joining from the record
    rendered = conf_of([W0, W1, V0], down=[W1])
    again = nm.plan_change(members, first.record_after, conf_text=rendered, update_conf=False, hold_new=True)
    assert again.joining.after == [W1] and again.joining.new == [] and not again.record_changed
    admitted = nm.plan_change(members, first.record_after, conf_text=rendered, admit=[W0, W1, V0])
    assert admitted.joining.admitted == [W1] and admitted.joining.after == []
    assert admitted.conf_changed and admitted.conf_after == conf_of([W0, W1, V0])
    assert admitted.record_changed and nm.parse_joining(admitted.record_after) == []
    settled = nm.plan_change(members, admitted.record_after, conf_text=admitted.conf_after, update_conf=False, hold_new=True)
    assert not settled.changed and not any(m["down"] for m in settled.members)
    assert not nm.plan_change(members, admitted.record_after, conf_text=admitted.conf_after, admit=[W1]).changed


def test_admit_ignores_members_that_are_not_joining_or_not_deployed():
    members = nm.plan_members(plan())
    record = nm.render_record([W0], [W1])
    change = nm.plan_change(members, record, conf_text=conf_of([W0, V0], down=[W0]), admit=[W0, W1])
    assert change.joining.admitted == [] and change.joining.after == [W1]  # W1 has no server line yet
    assert change.down == [W0] and not change.conf_changed


def test_first_deploy_members_are_in_at_once_since_nothing_else_could_serve():
    members = nm.plan_members(plan())
    change = nm.plan_change(members, None, conf_text=None, update_conf=False, hold_new=True)
    assert change.joining.new == [W0, W1, V0] and change.joining.at_once == [W0, W1, V0]
    assert change.joining.after == [] and not any(m["down"] for m in change.members)
    assert not change.record_changed


def test_new_upstream_is_in_at_once_while_the_others_hold_their_new_members():
    other = {"upstream": {"name": "other", "members": [{"host": "web3", "unit": "g.service", "address": "10.0.0.3:80"}]}}
    members = nm.plan_members(plan(zz=other))
    change = nm.plan_change(members, None, conf_text=conf_of([W0, V0]), update_conf=False, hold_new=True)
    assert change.joining.after == [W1] and change.joining.at_once == ["web3/g.service"]


def test_new_member_of_an_upstream_whose_others_are_all_drained_is_in_at_once():
    members = nm.plan_members(plan())
    change = nm.plan_change(members, nm.render_record([W0, V0]), conf_text=conf_of([W0, V0], down=[W0, V0]),
                            update_conf=False, hold_new=True)
    assert change.joining.at_once == [W1] and change.joining.after == [] and change.down == [W0, V0]
    # draining the last member up lets a joining one in at once too
    record = nm.render_record([W0], [W1])
    drained = nm.plan_change(members, record, drain=[V0], conf_text=conf_of([W0, W1, V0], down=[W0, W1]))
    assert drained.joining.at_once == [W1] and drained.conf_after == conf_of([W0, W1, V0], down=[W0, V0])


def test_without_hold_new_or_when_undrained_a_member_is_in():
    members = nm.plan_members(plan())
    assert nm.plan_change(members, None, conf_text=conf_of([W0, V0]), update_conf=False).joining.after == []
    undrained = nm.plan_change(members, nm.render_record([], [W1]), undrain=[W1], conf_text=conf_of([W0, W1, V0], down=[W1]))
    assert undrained.joining.after == [] and undrained.joining.admitted == [] and undrained.conf_after == conf_of([W0, W1, V0])


def test_joining_members_gone_from_the_plan_are_dropped():
    members = nm.plan_members(plan())
    change = nm.plan_change(members, nm.render_record([], ["gone/x.service"]), conf_text=conf(), update_conf=False,
                            hold_new=True)
    assert change.joining.before == [] and change.joining.after == [] and change.record_changed
