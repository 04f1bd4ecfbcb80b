// The web app's page script, run once on load (thermocad.inference.app.PAGE_JS).
() => {
  // No scroll anchoring: after an example is clicked, the browser kept the examples (where the
  // reader was) in place as the answer's figures came in, and so scrolled the verdict that
  // page.js had brought into view back out of it (a tablet review, 768 and 1024 px wide).
  document.documentElement.style.overflowAnchor = 'none';
  // Touch targets of 44 px (WCAG 2.5.5): Gradio draws the example buttons 30 px tall; a verdict
  // scrolled into view keeps a margin above it. On paper the upload box and the examples go,
  // and a figure stays whole with its caption.
  const style = document.createElement('style');
  style.textContent = '#examples button { min-height: 44px; } #verdict .verdict { scroll-margin: 24px; }' +
    ' @media print { #upload, #examples { display: none !important; } #thermogram, #overlay { break-inside: avoid; } }';
  document.head.appendChild(style);
  // Gradio disables a read-only textbox, which takes it out of the Tab order and hides it from
  // some screen readers: the result and status are read-only instead, and stay so as Gradio
  // redraws them.
  // Gradio names its upload button "Click to upload or drop files": named by the upload's label
  // instead (the kinds of file and the size limit), which a screen reader would not read out.
  const readable = () => {
    document.querySelectorAll('#result textarea, #status textarea')
      .forEach((t) => { if (t.disabled) { t.disabled = false; t.readOnly = true; } });
    document.querySelectorAll('#upload [aria-label]').forEach((b) => {
      if (b.getAttribute('aria-label') !== UPLOAD_LABEL && /upload/i.test(b.getAttribute('aria-label'))) {
        b.setAttribute('aria-label', UPLOAD_LABEL);
      }
    });
  };
  readable();
  new MutationObserver(readable).observe(document.body,
    {subtree: true, childList: true, attributes: true, attributeFilter: ['disabled', 'aria-label']});
  // Every file chosen or dropped clears the last file's verdict, figures and Result at once,
  // and Status names the new file, before it is sent: the server's answer replaces that, and
  // an upload that never reaches the server (over Gradio's own cap, the server stopped, the
  // network down: only Gradio's pop-up says so) leaves no result beside the wrong file's name.
  // The hidden #pending button does it in the browser, through Gradio's state (app.PENDING_JS).
  const escaped = (text) => text.replace(/[&<>"']/g,
    (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;'})[c]);
  let uploading = null;  // the file being sent, until the server answers or refuses it
  const chosen = (file) => {
    if (!file) return;
    const over = file.size > MAX_UPLOAD_MB * 1024 * 1024;
    uploading = over ? null : file.name;
    window.thermocadPending = file.name +
      (over ? ': not analysed: over the MAX_UPLOAD_MB MiB limit' : ': uploading\u2026');
    // (a function: a string's $& or $$ would be read as a pattern, and a name may hold them)
    window.thermocadVerdict = (over ? OVER_VERDICT : WAITING_VERDICT).replace('FILE_NAME', () => escaped(file.name));
    const button = document.getElementById('pending');
    if (button) button.click();
  };
  // An upload the server refused (HTTP 413 or 429: upload_quota.py), or one that failed on
  // its way or while analysed (the server stopped): Gradio says so in a pop-up only, where
  // Status and the verdict went on saying "uploading" and "being analysed". They now say it
  // was not analysed, and why.
  const told = new WeakSet();
  new MutationObserver(() => {
    document.querySelectorAll('[data-testid=toast-body].error [data-testid=toast-text]').forEach((t) => {
      if (told.has(t)) return;
      told.add(t);
      const status = document.querySelector('#status textarea');
      if (!uploading || !status || status.value !== window.thermocadPending) return;
      window.thermocadPending = uploading + ': not analysed: ' + t.textContent.trim();
      window.thermocadVerdict = FAILED_VERDICT.replace('FILE_NAME', () => escaped(uploading));
      uploading = null;
      const button = document.getElementById('pending');
      if (button) button.click();
    });
  }).observe(document.body, {subtree: true, childList: true});
  // On a phone the answer lands below the upload, out of sight, and the upload box just resets:
  // each new verdict (a call, no call, not analysed) is scrolled into view when it is not in
  // view already, so an upload never seems to have done nothing.
  let said = '';
  new MutationObserver(() => {
    const box = document.querySelector('#verdict .verdict');
    const text = box ? box.textContent : '';
    if (text === said) return;
    said = text;
    if (!box) return;
    const r = box.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) box.scrollIntoView({block: 'nearest'});
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
  // Chosen with the file dialog, or dropped on the upload box (which bypasses its input).
  document.addEventListener('change', (event) => {
    const input = event.target;
    if (input.matches && input.matches('#upload input[type=file]')) chosen(input.files && input.files[0]);
  }, true);
  document.addEventListener('drop', (event) => {
    const inside = event.target.closest && event.target.closest('#upload');
    if (inside && event.dataTransfer) chosen(event.dataTransfer.files[0]);
  }, true);
}
