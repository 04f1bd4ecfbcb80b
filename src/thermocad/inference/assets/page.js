// The web app's page script, run once on load (thermocad.inference.app.PAGE_JS).
() => {
  // Gradio disables a read-only textbox, which takes it out of the Tab order and hides it from
  // some screen readers: the result and status are read-only instead, and stay so as Gradio
  // redraws them.
  const readable = () => document.querySelectorAll('#result textarea, #status textarea')
    .forEach((t) => { if (t.disabled) { t.disabled = false; t.readOnly = true; } });
  readable();
  new MutationObserver(readable).observe(document.body,
    {subtree: true, childList: true, attributes: true, attributeFilter: ['disabled']});
  // A file over Gradio's own cap never reaches the server, and only Gradio's pop-up says so:
  // the last file's verdict and figures are cleared and the status names the refused file, so
  // no result stands beside the wrong file's name.
  const refuse = (file) => {
    if (!file || file.size <= GRADIO_MAX_MB * 1024 * 1024) return;
    for (const id of ['verdict', 'thermogram', 'overlay']) {
      const box = document.getElementById(id);
      if (box) box.querySelectorAll('.prose > *, img').forEach((e) => e.remove());
    }
    const say = (id, text) => {
      const t = document.querySelector('#' + id + ' textarea');
      if (t) t.value = text;
    };
    say('result', '');
    say('status', file.name + ': not analysed: over the MAX_UPLOAD_MB MiB limit');
  };
  // Chosen with the file dialog, or dropped on the upload box (which bypasses its input).
  document.addEventListener('change', (event) => {
    const input = event.target;
    if (input.matches && input.matches('#upload input[type=file]')) refuse(input.files && input.files[0]);
  }, true);
  document.addEventListener('drop', (event) => {
    const inside = event.target.closest && event.target.closest('#upload');
    if (inside && event.dataTransfer) refuse(event.dataTransfer.files[0]);
  }, true);
}
