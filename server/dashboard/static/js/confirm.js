// The confirmation asked before every action: a modal dialog that names what
// will be acted on, answers false on Cancel or Escape, and gives the focus
// back to where it was.

const dialog = () => document.getElementById('confirm');

/**
 * Asks to confirm an action. o: title, text, action (the confirm button's
 * label), reason (true to offer an optional reason). Resolves to null when
 * cancelled, else to {reason}.
 */
export function confirmAction(o) {
  const d = dialog();
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  const reasonRow = document.getElementById('confirm-reason-row');
  const reason = document.getElementById('confirm-reason');
  document.getElementById('confirm-title').textContent = o.title;
  document.getElementById('confirm-text').textContent = o.text;
  ok.textContent = o.action;
  reasonRow.hidden = !o.reason;
  reason.value = '';
  const back = document.activeElement;

  return new Promise((resolve) => {
    const finish = (answer) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      d.removeEventListener('close', onClose);
      if (d.open) d.close();
      if (back instanceof HTMLElement && back.isConnected) back.focus();
      resolve(answer);
    };
    const onOk = () => finish({ reason: reason.value.trim() });
    const onCancel = () => finish(null);
    // Escape closes the dialog by itself.
    const onClose = () => finish(null);
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    d.addEventListener('close', onClose);
    d.showModal();
    cancel.focus();
  });
}
