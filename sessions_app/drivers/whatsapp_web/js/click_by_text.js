// Click the first element matching the selectors whose text is one of the given texts.
const [css, texts] = arguments;
const wanted = texts.map((text) => text.trim().toLowerCase());
for (const selector of css) {
  for (const item of document.querySelectorAll(selector)) {
    const label = (item.innerText || item.getAttribute("aria-label") || "").trim().toLowerCase();
    if (wanted.includes(label)) {
      item.click();
      return true;
    }
  }
}
return false;
