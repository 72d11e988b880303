"""Open Galaxy in headless Chromium as a person would, and check what they would see.

    python tests/galaxy_api/browser_check.py --url http://PROXY/ --screenshot docs/img/galaxy.png \
        --expect fleet.txt --expect "on data 1"

Logs in as the given user (Galaxy's own login endpoint, called from the page with the page's
session token, so that the browser holds the session cookie), loads the start page, and waits until the page shows every expected
text (for the demo: the datasets of the history it made, switched to as the history switcher does). Fails, naming what is wrong, when
the page does not render, a static file (/static/...) did not load, or an expected text does not
appear within the timeout. Writes a screenshot either way (when one was asked for).

Uses Debian's chromium and chromium-driver through Selenium; it never downloads a browser.
Test tooling of the demo, not part of the collection.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Sequence

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

LOGIN_SCRIPT = """
const [loginUrl, email, password, done] = arguments;
fetch(loginUrl, {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "Accept": "application/json"},
    body: JSON.stringify({login: email, password: password, url: "",
                          session_csrf_token: typeof session_csrf_token === "undefined" ? null : session_csrf_token})})
  .then(r => r.text().then(t => done({status: r.status, body: t.slice(0, 300)})))
  .catch(e => done({status: 0, body: String(e)}));
"""

# Make a history the session's current one, as the history switcher does.
SWITCH_SCRIPT = """
const [switchUrl, historyId, done] = arguments;
fetch(switchUrl, {method: "PUT", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "Accept": "application/json"},
    body: JSON.stringify({id: historyId})})
  .then(r => r.text().then(t => done({status: r.status, body: t.slice(0, 300)})))
  .catch(e => done({status: 0, body: String(e)}));
"""

# Who the browser's session is logged in as.
WHOAMI_SCRIPT = """
const [usersUrl, done] = arguments;
fetch(usersUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
  .then(r => r.json()).then(j => done(j.email || "")).catch(e => done(""));
"""

# Every resource the page loaded, with its HTTP status (Chromium reports responseStatus).
RESOURCES_SCRIPT = """
return performance.getEntriesByType("resource").map(e => ({name: e.name, status: e.responseStatus || 0}));
"""


def log(message: str) -> None:
    print(f"browser_check: {message}", file=sys.stderr, flush=True)


def browser(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--lang=en-US"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def failed_static(resources: Sequence[dict[str, Any]]) -> list[str]:
    """Static files the page asked for that did not load (status 0 = blocked or not known)."""
    return [f"{r['name']} ({r['status']})" for r in resources
            if "/static/" in r["name"] and r["status"] not in (200, 304)]


def missing(text: str, expected: Sequence[str]) -> list[str]:
    return [e for e in expected if e not in text]


def check(args: argparse.Namespace) -> dict[str, Any]:
    url = args.url.rstrip("/") + "/"
    driver = browser(args.width, args.height)
    result: dict[str, Any] = {"url": url, "problems": []}
    try:
        driver.set_script_timeout(60)
        driver.get(url)  # Galaxy gives the browser its (anonymous) session cookie, which the login needs
        # Log in, check the session is the user's, switch history; a few tries, since the session
        # cookie the login answer sets is sometimes not yet the one the next request sends.
        seen: list[str] = []
        for _attempt in range(3):
            login = driver.execute_async_script(LOGIN_SCRIPT, url + "user/login", args.email, args.password)
            result["login_status"] = login["status"]
            if login["status"] != 200:
                seen.append(f"login as {args.email} answered {login['status']}: {login['body']}")
            elif driver.execute_async_script(WHOAMI_SCRIPT, url + "api/users/current") != args.email:
                seen.append(f"after the login, the session is not {args.email}'s")
            elif args.history:
                switched = driver.execute_async_script(
                    SWITCH_SCRIPT, url + "history/set_as_current?id=" + args.history, args.history)
                if switched["status"] == 200:
                    break
                seen.append(f"switching to history {args.history} answered {switched['status']}: {switched['body']}")
            else:
                break
            time.sleep(2)
            driver.get(url)
        else:
            result["problems"].extend(seen)
        result["tries"] = len(seen) + 1
        driver.get(url)
        deadline = time.monotonic() + args.timeout
        text = ""
        while time.monotonic() < deadline:
            text = driver.execute_script("return document.body ? document.body.innerText : ''") or ""
            if not missing(text, args.expect) and driver.execute_script("return document.styleSheets.length") > 0:
                break
            time.sleep(1)
        result["title"] = driver.title
        result["stylesheets"] = driver.execute_script("return document.styleSheets.length")
        resources = driver.execute_script(RESOURCES_SCRIPT)
        result["static_loaded"] = sum(1 for r in resources if "/static/" in r["name"])
        if not result["stylesheets"]:
            result["problems"].append("the page has no style sheet: Galaxy's client did not load")
        bad = failed_static(resources)
        if bad:
            result["problems"].append("static files that did not load: " + ", ".join(bad[:10]))
        if result["static_loaded"] == 0:
            result["problems"].append("the page loaded no file from /static/")
        absent = missing(text, args.expect)
        if absent:
            result["problems"].append(f"not shown after {args.timeout:.0f} s: " + ", ".join(repr(a) for a in absent))
        if args.screenshot:
            driver.save_screenshot(args.screenshot)
            result["screenshot"] = args.screenshot
    finally:
        driver.quit()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="Galaxy's URL through the proxy")
    p.add_argument("--email", default="admin@galaxy.test")
    p.add_argument("--password", default="galaxy-test-only-password")  # test-only
    p.add_argument("--expect", action="append", default=[], help="text the page must show (repeatable)")
    p.add_argument("--history", help="id of the history to show (made the current one); default: Galaxy's choice")
    p.add_argument("--screenshot", help="PNG file to write")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=900)
    args = p.parse_args(argv)
    try:
        result = check(args)
    except WebDriverException as exc:
        log(f"the browser failed: {exc.msg or exc}")
        return 2
    print(json.dumps(result, indent=2))
    for problem in result["problems"]:
        log(problem)
    if not result["problems"]:
        log(f"page {result['title']!r}: logged in as {args.email}, {result['static_loaded']} static files loaded, "
            f"{len(args.expect)} expected text(s) shown" + (f"; screenshot {args.screenshot}" if args.screenshot else ""))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
