# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling restart's timeline: events -> phases per process -> JSON and an SVG picture (controller side).

Events are the fact ``galaxy_restart_events``: ``{id, host, unit, kind, time}`` with kind ``drain``, ``stop``,
``start``, ``ready`` or ``undrain`` and time in seconds since the epoch. Phases of one process, each from an
event to the next that changes it:

- ``drained``: out of nginx (the first proxy's drain), its requests in flight finishing;
- ``stopping``: systemd stops it (and, until ``start``, it is down);
- ``booting``: started, not ready yet;
- ``ready-not-back``: ready (a gunicorn that answers) but not yet back in nginx;
- ``back``: serving again (a gunicorn back in nginx; any other process once ready).

The picture is SVG written as text (no dependency): one bar a process over time, coloured by phase, and, with a
load report of ``tests/loadgen/loadgen.py`` (its ``per_second`` counts), requests per second and failures on the
same time axis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence
from xml.sax.saxutils import escape

KINDS = ("drain", "stop", "start", "ready", "undrain")
PHASE_OF = {"drain": "drained", "stop": "stopping", "start": "booting", "undrain": "back"}
PHASES = ("drained", "stopping", "booting", "ready-not-back", "back")
COLOURS = {"drained": "#f0ad4e", "stopping": "#d9534f", "booting": "#5bc0de", "ready-not-back": "#9b59b6",
           "back": "#5cb85c"}
LABELS = {"drained": "out of nginx, finishing", "stopping": "stopping / down", "booting": "booting",
          "ready-not-back": "ready, not back yet", "back": "serving again"}


class TimelineError(ValueError):
    """Events or a load report that cannot be read."""


@dataclass(frozen=True)
class Phase:
    phase: str
    start: float
    end: float

    def as_dict(self, t0: float) -> dict[str, Any]:
        return {"phase": self.phase, "start": round(self.start, 3), "end": round(self.end, 3),
                "from_s": round(self.start - t0, 3), "seconds": round(self.end - self.start, 3)}


@dataclass
class ProcessLine:
    id: str
    host: str
    unit: str
    events: list[dict[str, Any]] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)

    @property
    def web(self) -> bool:
        return any(e["kind"] in ("drain", "undrain") for e in self.events)


@dataclass
class Timeline:
    start: float
    end: float
    processes: list[ProcessLine]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "start": round(self.start, 3),
            "start_at": iso(self.start),
            "end": round(self.end, 3),
            "seconds": round(self.end - self.start, 3),
            "processes": [
                {"id": p.id, "host": p.host, "unit": p.unit, "web": p.web,
                 "events": [{"kind": e["kind"], "time": round(e["time"], 3), "from_s": round(e["time"] - self.start, 3)}
                            for e in p.events],
                 "phases": [ph.as_dict(self.start) for ph in p.phases],
                 "ordered": ordered(p)}
                for p in self.processes
            ],
        }


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds")


def check_events(events: Any) -> list[dict[str, Any]]:
    if not isinstance(events, list):
        raise TimelineError(f"galaxy_restart_events: a list of events expected, got {type(events).__name__}")
    out = []
    for n, event in enumerate(events):
        where = f"galaxy_restart_events[{n}]"
        if not isinstance(event, Mapping):
            raise TimelineError(f"{where}: a mapping expected")
        for key in ("id", "kind", "time"):
            if key not in event:
                raise TimelineError(f"{where}: no {key}")
        if event["kind"] not in KINDS:
            raise TimelineError(f"{where}.kind: {event['kind']!r} is not one of {', '.join(KINDS)}")
        try:
            time = float(event["time"])
        except (TypeError, ValueError):
            raise TimelineError(f"{where}.time: {event['time']!r} is not seconds since the epoch") from None
        host, _sep, unit = str(event["id"]).partition("/")
        out.append({"id": str(event["id"]), "host": event.get("host") or host, "unit": event.get("unit") or unit,
                    "kind": event["kind"], "time": time})
    return out


def phases_of(events: Sequence[Mapping[str, Any]], web: bool, end: float) -> list[Phase]:
    """The phases of one process from its events (in time order); the last one lasts until END."""
    out: list[Phase] = []
    current: tuple[str, float] | None = None
    for event in events:
        phase = PHASE_OF.get(event["kind"]) or ("ready-not-back" if web else "back")
        if event["kind"] == "ready" and current is not None and current[0] == "back":
            continue  # a proxy's undrain came before the ready line (already serving)
        if current is not None and current[0] == phase:
            continue  # the same step seen from another proxy
        if current is not None:
            out.append(Phase(current[0], current[1], event["time"]))
        current = (phase, event["time"])
    if current is not None:
        out.append(Phase(current[0], current[1], max(end, current[1])))
    return out


def ordered(process: ProcessLine) -> bool:
    """Whether the phases come in the rollout's order (a subsequence of drained, stopping, booting, ...)."""
    names = [ph.phase for ph in process.phases]
    positions = [PHASES.index(n) for n in names]
    return positions == sorted(positions) and len(set(names)) == len(names)


def build(events: Any, processes: Iterable[str] = (), pad: float = 2.0) -> Timeline:
    """The timeline of the events; PROCESSES (``HOST/UNIT``) give the order of the bars (others follow by id)."""
    checked = sorted(check_events(events), key=lambda e: (e["time"], KINDS.index(e["kind"])))
    order = list(dict.fromkeys(str(p) for p in processes))
    lines: dict[str, ProcessLine] = {}
    for pid in order:
        host, _sep, unit = pid.partition("/")
        lines[pid] = ProcessLine(pid, host, unit)
    for event in sorted(checked, key=lambda e: e["id"]):
        lines.setdefault(event["id"], ProcessLine(event["id"], event["host"], event["unit"]))
    for event in checked:
        lines[event["id"]].events.append(event)
    if checked:
        start, end = checked[0]["time"] - pad, checked[-1]["time"] + pad
    else:
        start = end = 0.0
    for line in lines.values():
        line.phases = phases_of(line.events, line.web, end)
    return Timeline(start, end, list(lines.values()))


# -- load reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSeries:
    label: str
    start: float  # epoch of second 0
    ok: tuple[int, ...]
    failed: tuple[int, ...]


def load_series(report: Any, where: str = "load report") -> LoadSeries:
    """Per-second counts of a loadgen report (``started_epoch`` and ``per_second`` = ``[[ok, failed], ...]``)."""
    if not isinstance(report, Mapping):
        raise TimelineError(f"{where}: a JSON object of tests/loadgen/loadgen.py expected")
    if "per_second" not in report or "started_epoch" not in report:
        raise TimelineError(f"{where}: no per_second/started_epoch (a report of an older loadgen.py?)")
    try:
        pairs = [(int(ok), int(bad)) for ok, bad in report["per_second"]]
        start = float(report["started_epoch"])
    except (TypeError, ValueError):
        raise TimelineError(f"{where}.per_second: pairs of [ok, failed] counts expected") from None
    label = str(report.get("connections") or "load")
    return LoadSeries(label, start, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))


# -- the picture -------------------------------------------------------------------------------

WIDTH = 1100
LEFT = 300  # labels
RIGHT = 30
ROW = 22
BAR = 14
LOAD_HEIGHT = 110
LINE_COLOURS = ("#1f77b4", "#8c564b", "#7f7f7f")


def tick_step(seconds: float, ticks: int = 12) -> float:
    """A round step (1, 2, 5 x 10^n) giving at most about TICKS ticks over SECONDS."""
    raw = max(seconds / ticks, 0.1)
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if mult * power >= raw:
            return mult * power
    return 10 * power


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def svg(timeline: Timeline, loads: Sequence[LoadSeries] = (), title: str = "Rolling restart") -> str:
    """The timeline drawn as an SVG document."""
    span = max(timeline.end - timeline.start, 1.0)
    plot_w = WIDTH - LEFT - RIGHT

    def x(t: float) -> float:
        return LEFT + (min(max(t, timeline.start), timeline.end) - timeline.start) / span * plot_w

    parts: list[str] = []
    y = 28
    parts.append(f'<text x="12" y="{y}" class="title">{escape(title)}</text>')
    y += 18
    subtitle = f"start {iso(timeline.start)} UTC, {len(timeline.processes)} processes, {_num(span)} s"
    parts.append(f'<text x="12" y="{y}" class="small">{escape(subtitle)}</text>')
    y += 14
    lx = 12
    for phase in PHASES:
        parts.append(f'<rect x="{lx}" y="{y}" width="14" height="10" fill="{COLOURS[phase]}"/>')
        parts.append(f'<text x="{lx + 18}" y="{y + 9}" class="small">{escape(LABELS[phase])}</text>')
        lx += 24 + 7 * len(LABELS[phase])
    y += 30
    top = y
    if loads:
        y = _load_panel(parts, loads, timeline, x, y)
    bars_top = y
    for n, line in enumerate(timeline.processes):
        row_y = bars_top + n * ROW
        mid = row_y + ROW / 2
        if n % 2 == 0:
            parts.append(f'<rect x="0" y="{row_y}" width="{WIDTH}" height="{ROW}" fill="#f6f6f6"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{mid + 4}" class="label" text-anchor="end">{escape(line.id)}</text>')
        parts.append(f'<line x1="{LEFT}" y1="{mid}" x2="{WIDTH - RIGHT}" y2="{mid}" class="serving"/>')
        for ph in line.phases:
            x1, x2 = x(ph.start), x(ph.end)
            tip = f"{line.id}: {ph.phase} {_num(ph.end - ph.start)} s from +{_num(ph.start - timeline.start)} s"
            parts.append(f'<g class="phase-{ph.phase}"><title>{escape(tip)}</title>'
                         f'<rect x="{x1:.1f}" y="{mid - BAR / 2}" width="{max(x2 - x1, 1.0):.1f}" height="{BAR}" '
                         f'fill="{COLOURS[ph.phase]}"/></g>')
    bottom = bars_top + len(timeline.processes) * ROW
    parts.append(_axis(timeline, x, top, bottom))
    height = bottom + 40
    style = ("<style>text{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;fill:#222}"
             ".title{font-size:17px;font-weight:bold}.small{font-size:11px}.label{font-size:12px;font-family:"
             "DejaVu Sans Mono,monospace}.tick{font-size:11px}.grid{stroke:#ddd;stroke-width:1}"
             ".serving{stroke:#bbb;stroke-width:2}</style>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}">\n{style}\n<rect width="100%" height="100%" fill="white"/>\n'
            + "\n".join(parts) + "\n</svg>\n")


def _axis(timeline: Timeline, x, top: float, bottom: float) -> str:
    span = max(timeline.end - timeline.start, 1.0)
    step = tick_step(span)
    out = [f'<g class="axis"><line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#444"/>']
    n = 0
    while n * step <= span + 1e-9:
        tx = x(timeline.start + n * step)
        out.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{bottom}" class="grid"/>')
        out.append(f'<line x1="{tx:.1f}" y1="{bottom}" x2="{tx:.1f}" y2="{bottom + 5}" stroke="#444"/>')
        out.append(f'<text x="{tx:.1f}" y="{bottom + 18}" class="tick" text-anchor="middle">{_num(n * step)}</text>')
        n += 1
    out.append(f'<text x="{WIDTH - RIGHT}" y="{bottom + 34}" class="tick" text-anchor="end">'
               f'seconds since {escape(iso(timeline.start))} UTC</text></g>')
    return "\n".join(out)


def _load_panel(parts: list[str], loads: Sequence[LoadSeries], timeline: Timeline, x, y: float) -> float:
    """Requests per second (a line per report) and, in a strip below, failures per second (red bars)."""
    def inside(series: LoadSeries) -> list[tuple[float, int, int]]:
        return [(series.start + i, ok, bad) for i, (ok, bad) in enumerate(zip(series.ok, series.failed))
                if timeline.start <= series.start + i <= timeline.end - 1]

    points = [inside(s) for s in loads]
    peak = max([ok + bad for pts in points for _t, ok, bad in pts] + [1])
    worst = max([bad for pts in points for _t, _ok, bad in pts] + [0])
    total_failed = sum(bad for pts in points for _t, _ok, bad in pts)
    legend_x = LEFT
    for n, (series, pts) in enumerate(zip(loads, points)):
        colour = LINE_COLOURS[n % len(LINE_COLOURS)]
        label = (f"{series.label}: {sum(ok + bad for _t, ok, bad in pts)} requests, "
                 f"{sum(bad for _t, _ok, bad in pts)} failed")
        parts.append(f'<line x1="{legend_x}" y1="{y - 4}" x2="{legend_x + 16}" y2="{y - 4}" stroke="{colour}" '
                     f'stroke-width="2"/><text x="{legend_x + 20}" y="{y}" class="small">{escape(label)}</text>')
        legend_x += 30 + 6 * len(label)
    top = y + 8
    base = top + LOAD_HEIGHT
    scale = (LOAD_HEIGHT - 4) / peak
    parts.append(f'<text x="{LEFT - 8}" y="{top + LOAD_HEIGHT / 2 + 4}" class="label" text-anchor="end">'
                 f'requests/s</text>')
    parts.append(f'<text x="{LEFT - 4}" y="{base - peak * scale + 4:.1f}" class="tick" text-anchor="end">{peak}</text>')
    parts.append(f'<text x="{LEFT - 4}" y="{base}" class="tick" text-anchor="end">0</text>')
    parts.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#444"/>')
    for n, pts in enumerate(points):
        colour = LINE_COLOURS[n % len(LINE_COLOURS)]
        coords = " ".join(f"{x(t + 0.5):.1f},{base - (ok + bad) * scale:.1f}" for t, ok, bad in pts)
        if coords:
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    strip = base + 6
    fail_h = 22
    colour = "#d62728" if total_failed else "#2e7d32"
    parts.append(f'<text x="{LEFT - 8}" y="{strip + fail_h / 2 + 4}" class="label" text-anchor="end">failed/s</text>')
    parts.append(f'<rect x="{LEFT}" y="{strip}" width="{WIDTH - LEFT - RIGHT}" height="{fail_h}" fill="#fbfbfb" '
                 f'stroke="#ddd"/>')
    for pts in points:
        for t, _ok, bad in pts:
            if bad:
                h = max(bad / worst * (fail_h - 2), 3.0)
                parts.append(f'<rect x="{x(t):.1f}" y="{strip + fail_h - h:.1f}" width="{max(x(t + 1) - x(t), 2):.1f}" '
                             f'height="{h:.1f}" fill="#d62728"><title>{bad} failed at +{_num(t - timeline.start)} s'
                             f'</title></rect>')
    summary = f"{total_failed} failed" + (f" (at most {worst} in one second)" if worst else "")
    parts.append(f'<text x="{LEFT + 6}" y="{strip + fail_h / 2 + 4}" class="small" style="fill:{colour}">'
                 f'{escape(summary)}</text>')
    return strip + fail_h + 10


# -- inputs of the role and the redraw playbook --------------------------------------------------


def events_of(value: Any) -> list[dict[str, Any]]:
    """Events as given: the fact's list, or a timeline written before (its processes' events)."""
    if isinstance(value, Mapping) and "processes" in value:
        return [{"id": p["id"], "host": p.get("host"), "unit": p.get("unit"), "kind": e["kind"], "time": e["time"]}
                for p in value["processes"] for e in p.get("events", [])]
    return value


def process_ids(value: Any) -> list[str]:
    if isinstance(value, Mapping) and "processes" in value:
        return [p["id"] for p in value["processes"]]
    return []


def journal_hosts(ids: Iterable[str], proxies: Iterable[str]) -> list[dict[str, Any]]:
    """One journal read per host: its restarted units (from ``HOST/UNIT`` ids), and on proxies the members' steps."""
    hosts: dict[str, dict[str, Any]] = {}
    for pid in ids:
        host, _sep, unit = str(pid).partition("/")
        hosts.setdefault(host, {"host": host, "units": [], "members": False})["units"].append(unit)
    for proxy in proxies:
        hosts.setdefault(proxy, {"host": proxy, "units": [], "members": False})["members"] = True
    return list(hosts.values())


def summary_lines(timeline: Timeline) -> list[str]:
    """One line a process: its phases with their seconds, the last one (lasting to the end) as ``then PHASE``."""
    out = []
    for p in timeline.processes:
        if not p.phases:
            out.append(f"{p.id}: no step seen")
            continue
        steps = [f"{ph.phase} {_num(ph.end - ph.start)} s" for ph in p.phases[:-1]] + [f"then {p.phases[-1].phase}"]
        out.append(f"{p.id}: " + ", ".join(steps) + ("" if ordered(p) else " (out of order)"))
    return out
