// Every message bubble of the open chat: id, status icon, its label and colour, text.
const [bubbleCss, iconCss, textCss, idAttr, iconAttr] = arguments;
const first = (root, list) => {
  for (const css of list) {
    const found = root.querySelector(css);
    if (found) return found;
  }
  return null;
};
let bubbles = [];
for (const css of bubbleCss) {
  bubbles = Array.from(document.querySelectorAll(css));
  if (bubbles.length) break;
}
return bubbles.map((bubble) => {
  const icon = first(bubble, iconCss);
  const text = first(bubble, textCss);
  return {
    id: bubble.getAttribute(idAttr) || "",
    icon: icon ? icon.getAttribute(iconAttr) || "" : "",
    label: icon ? icon.getAttribute("aria-label") || "" : "",
    color: icon ? getComputedStyle(icon).color : "",
    text: text ? text.innerText : "",
  };
});
