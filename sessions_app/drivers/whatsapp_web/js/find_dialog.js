// The open dialog whose text holds one of the given texts, clicked away; returns the text.
// WhatsApp Web speaks the phone's language, so a dialog is known by its words in several.
const [dialogCss, buttonCss, texts, dismiss] = arguments;
const normalise = (text) => text.replace(/[\u2018\u2019']/g, "'").toLowerCase();
const wanted = texts.map(normalise);
for (const css of dialogCss) {
  for (const dialog of document.querySelectorAll(css)) {
    const text = normalise(dialog.innerText || "");
    if (!wanted.some((known) => text.includes(known))) continue;
    if (dismiss) {
      for (const buttonSelector of buttonCss) {
        const button = dialog.querySelector(buttonSelector);
        if (button) {
          button.click();
          break;
        }
      }
    }
    return dialog.innerText;
  }
}
return null;
