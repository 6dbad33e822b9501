"""Real WhatsApp Web in Debian's Chromium, driven by Selenium (the only package that imports it).

`driver` picks the strategy, `wajs` and `dom` implement them, `browser` owns the Chromium
process, `bundle` the vendored wa-js, `selectors` the data file of DOM facts; the
JavaScript run in the page lives in `js/`.
"""

from sessions_app.drivers.whatsapp_web.browser import CHROMIUM_FLAGS, end_stale_browser
from sessions_app.drivers.whatsapp_web.driver import SeleniumDriver
from sessions_app.drivers.whatsapp_web.selectors import SelectorCheck, load_selectors

__all__ = [
    "CHROMIUM_FLAGS",
    "SelectorCheck",
    "SeleniumDriver",
    "end_stale_browser",
    "load_selectors",
]
