// The owner page's referrals tab: refer a friend, follow each referral.
"use strict";

async function loadReferrals() {
  const [all, leads] = await Promise.all([projects(), api("/api/v1/me/referrals").then((r) => r.json())]);
  const chosen = $("ref-project").value;
  $("ref-project").innerHTML = all.map((p) => `<option value="${p.id}">${esc(projectName(p.id))}</option>`).join("");
  if (chosen) $("ref-project").value = chosen;
  $("referrals").innerHTML = leads.length
    ? leads.map((l) => `<div class="row event"><span>${esc(l.name)} · ${esc(projectName(l.project_id, l.project))}</span>
        <span class="status" data-stage="${esc(l.stage)}">${esc(enumLabel("referral_stage", l.stage))}</span></div>`).join("")
    : `<p class="muted">${esc(_("No referrals yet"))}</p>`;
}

async function refer() {
  $("refer-error").textContent = "";
  const body = { name: $("ref-name").value.trim(), phone: $("ref-phone").value.trim(), project_id: Number($("ref-project").value) };
  const response = await api("/api/v1/referrals", { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) { $("refer-error").textContent = await problemText(response); return; }
  $("ref-name").value = ""; $("ref-phone").value = "";
  await loadReferrals();
}

$("refer").addEventListener("click", refer);
TABS.referrals = loadReferrals;
