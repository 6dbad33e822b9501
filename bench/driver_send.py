"""Send N messages through the selenium driver to the local WhatsApp Web replica.

Reports seconds per message and the memory of one account's Chromium process tree, for
either strategy: `wajs` (the wa-js stand-in: a prepared id, one call, wait for the server
ack; no reload) or `dom` (open the chat by /send, type, send, wait for msg-check). The
replica answers instantly, so the figures are the driver's and Chromium's own cost, not
WhatsApp's latency. The reference, measured in the same run, is one WebDriver round trip
(`return 1` in the page): the floor under any step the driver takes.

    .venv/bin/python bench/driver_send.py --strategy wajs --messages 50
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
WAJS_STANDIN = BASE_DIR / "tests" / "sessions_app" / "replica" / "wajs_standin.js"


def chromium_memory_bytes(browser_pid: int) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) over the Chromium process tree.

    Summed RSS counts the libraries and shared memory every Chromium process maps once per
    process; PSS shares them out, so it is the closer figure for sizing a host.
    """
    browser = psutil.Process(browser_pid)
    rss = pss = 0
    for process in [browser, *browser.children(recursive=True)]:
        try:
            memory = process.memory_full_info()
        except psutil.NoSuchProcess:
            continue
        rss += memory.rss
        pss += getattr(memory, "pss", memory.rss)
    return rss, pss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--boot-seconds", type=float, default=0.3, help="replica app boot delay")
    parser.add_argument("--strategy", choices=["wajs", "dom"], default="wajs")
    arguments = parser.parse_args()

    from tests.sessions_app.replica import Replica

    # The server takes a message at once: what is measured is the driver's own cost.
    replica = Replica(boot_seconds=arguments.boot_seconds, sent_after=0.0).start()
    os.environ["DJANGO_SETTINGS_MODULE"] = "whatsmassive.settings"
    os.environ["WHATSAPP_WEB_URL"] = replica.url
    os.environ["WHATSAPP_SELECTORS_FILE"] = ""
    os.environ["SYSTEM_LOG_LEVEL"] = "CRITICAL"  # no database here for log rows
    os.environ["WHATSAPP_STRATEGY"] = arguments.strategy
    os.environ["WHATSAPP_WAJS_FILE"] = str(WAJS_STANDIN)
    import django

    django.setup()
    from sessions_app.drivers.base import DriverState
    from sessions_app.drivers.whatsapp_web import SeleniumDriver

    with tempfile.TemporaryDirectory(prefix="bench-profile-") as profile:
        driver = SeleniumDriver(profile_dir=Path(profile))
        started = time.perf_counter()
        driver.start()
        payload = driver.qr_payload()
        while payload is None or not replica.scan(payload):
            payload = driver.qr_payload()
        while driver.state() != DriverState.CONNECTED:
            time.sleep(0.05)
        print(f"{driver.strategy}: started and linked in {time.perf_counter() - started:.2f} s")
        assert driver.browser_pid is not None
        round_trips = []
        for _ in range(50):
            began = time.perf_counter()
            driver.driver.execute_script("return 1")
            round_trips.append(time.perf_counter() - began)
        durations: list[float] = []
        rss_samples: list[int] = []
        pss_samples: list[int] = []
        expected: list[tuple[str, str]] = []
        try:
            for number in range(arguments.messages):
                text = f"Hola {number}, su saldo es 150.000 COP 🙏\nGracias."
                phone = f"57300555{number % 20:04d}"
                began = time.perf_counter()
                prepared = driver.prepare_send(phone_e164=f"+{phone}")
                driver.send_text(phone_e164=f"+{phone}", text=text, message_id=prepared)
                durations.append(time.perf_counter() - began)
                expected.append((phone, text))
                rss, pss = chromium_memory_bytes(driver.browser_pid)
                rss_samples.append(rss)
                pss_samples.append(pss)
        finally:
            driver.close()
            replica.stop()

    sent = len(replica.sent)
    exact = [(message.to, message.text) for message in replica.sent] == expected
    per_message = statistics.fmean(durations)
    round_trip = statistics.median(round_trips)
    rss_mb = max(rss_samples) / 1024 / 1024
    pss_mb = max(pss_samples) / 1024 / 1024
    print(f"messages sent: {sent}, every text exact: {exact}")
    print(
        f"per message: mean {per_message:.3f} s, median {statistics.median(durations):.3f} s, "
        f"max {max(durations):.3f} s"
    )
    print(
        f"reference: one WebDriver round trip {round_trip * 1000:.1f} ms; a message costs "
        f"{per_message / round_trip:.0f} of them"
    )
    print(f"Chromium tree: peak summed RSS {rss_mb:.0f} MB, peak summed PSS {pss_mb:.0f} MB")
    print(
        f"strategy={arguments.strategy} seconds_per_message={per_message:.3f} "
        f"chromium_pss_mb={pss_mb:.0f}"
    )


if __name__ == "__main__":
    main()
