// Placeholder chips insert "{key}" at the cursor of their editor (the group's
// data-editor), then let htmx refresh the preview.
document.addEventListener("click", (event) => {
  const chip = event.target.closest("[data-placeholder]");
  if (!chip) return;
  const editor = document.getElementById(chip.closest("[data-editor]").dataset.editor);
  editor.focus();
  editor.setRangeText("{" + chip.dataset.placeholder + "}", editor.selectionStart, editor.selectionEnd, "end");
  editor.dispatchEvent(new Event("input", { bubbles: true }));
});
