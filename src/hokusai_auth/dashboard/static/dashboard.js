// Hokusai dashboard: the copy button and hiding a new key. Everything else works without scripts.
"use strict";
document.addEventListener("click", async (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const field = document.getElementById(copy.dataset.copy);
    const status = document.getElementById("copy-status");
    try {
      await navigator.clipboard.writeText(field.value);
      if (status) status.textContent = "Copied to the clipboard.";
    } catch (error) {
      field.select();  // no clipboard access (an insecure origin): the key is selected for Ctrl+C
      if (status) status.textContent = "Press Ctrl+C (or Cmd+C) to copy the selected key.";
    }
    return;
  }
  const dismiss = event.target.closest("[data-dismiss]");
  if (dismiss) {
    const section = document.getElementById(dismiss.dataset.dismiss);
    // The key leaves the page: removed from the document, not hidden.
    section.replaceChildren(Object.assign(document.createElement("p"), {textContent: "The key is hidden and no longer on this page."}));
    section.setAttribute("role", "status");
  }
});
