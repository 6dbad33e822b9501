// Chat list rows as [title, unread badge text], read in one round trip.
const [rowCss, titleCss, badgeCss] = arguments;
const first = (root, list) => {
  for (const css of list) {
    const found = root.querySelector(css);
    if (found) return found;
  }
  return null;
};
let rows = [];
for (const css of rowCss) {
  rows = Array.from(document.querySelectorAll(css));
  if (rows.length) break;
}
return rows.map((row) => {
  const title = first(row, titleCss);
  const badge = first(row, badgeCss);
  return [
    title ? title.getAttribute("title") || "" : "",
    badge ? badge.textContent || badge.getAttribute("aria-label") || "1" : "",
  ];
});
