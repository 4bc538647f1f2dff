/* Copy buttons for secrets shown once: <button data-copy="#element-id">. */
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  event.preventDefault();
  const source = document.querySelector(button.getAttribute("data-copy"));
  if (!source) return;
  const text = source.textContent.trim();
  const done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 2000); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
  } else {
    selectText(source);
    try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected for a manual copy */ }
  }
});
function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

/* The Offer form shows the chooser of the ticked target only (learners, a group or a site). */
function syncOfferTarget(form) {
  const checked = form.querySelector("input[name=target]:checked");
  const target = checked ? checked.value : "need";
  ["learners", "group", "site"].forEach(function (name) {
    const row = form.querySelector(".field-" + name);
    if (row) row.style.display = target === name ? "" : "none";
  });
}
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-offer-form]").forEach(function (form) {
    syncOfferTarget(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "target") syncOfferTarget(form);
    });
  });
});
