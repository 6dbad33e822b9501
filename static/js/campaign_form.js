// Placeholder chips insert "{key}" at the cursor of the text box last focused (the main
// text until another is), then let htmx refresh the preview. Variants are added from the
// page's <template> and removed with their box.
let lastEditor = null;

document.addEventListener("focusin", (event) => {
  if (event.target.matches("textarea.template-editor")) lastEditor = event.target;
});

function changed(element) {
  element.dispatchEvent(new Event("input", { bubbles: true }));
}

document.addEventListener("click", (event) => {
  const chip = event.target.closest("[data-placeholder]");
  if (chip) {
    const editor =
      lastEditor && lastEditor.isConnected
        ? lastEditor
        : document.getElementById(chip.closest("[data-editor]").dataset.editor);
    editor.focus();
    editor.setRangeText("{" + chip.dataset.placeholder + "}", editor.selectionStart, editor.selectionEnd, "end");
    changed(editor);
    return;
  }
  const add = event.target.closest("[data-add-variant]");
  if (add) {
    const variants = add.closest(".variants");
    const boxes = variants.querySelectorAll(".variant-editor");
    // The main text is one of the campaign's texts too.
    if (boxes.length + 1 >= Number(variants.dataset.maxVariants)) add.disabled = true;
    const box = document.getElementById("variant-editor-template").content.firstElementChild.cloneNode(true);
    boxes[boxes.length - 1].after(box);
    box.querySelector("textarea").focus();
    return;
  }
  const remove = event.target.closest("[data-remove-variant]");
  if (remove) {
    const variants = remove.closest(".variants");
    remove.closest(".variant-editor").remove();
    variants.querySelector("[data-add-variant]").disabled = false;
    changed(variants);
  }
});
