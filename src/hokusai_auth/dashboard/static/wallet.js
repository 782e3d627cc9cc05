// Sign in with a browser wallet (EIP-1193 window.ethereum) and Sign-In with Ethereum (EIP-4361).
// The service writes the message; the wallet signs it; the service checks it and sets HttpOnly cookies.
"use strict";
(() => {
  const button = document.getElementById("wallet-sign-in");
  const status = document.getElementById("wallet-status");
  if (!button) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const say = (text) => { status.textContent = text; };
  const toHex = (text) => "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.detail || `HTTP ${response.status}`);
    return answer;
  }
  button.addEventListener("click", async () => {
    if (!window.ethereum) { say("No browser wallet found: install one (e.g. MetaMask), or sign in as an operator."); return; }
    button.disabled = true;
    try {
      say("Asking your wallet for your address…");
      const [address] = await window.ethereum.request({method: "eth_requestAccounts"});
      const chainHex = await window.ethereum.request({method: "eth_chainId"}).catch(() => null);
      const challenge = {wallet_address: address};
      if (chainHex) challenge.chain_id = parseInt(chainHex, 16);
      const {message} = await post("/auth/siwe/challenge", challenge);
      say("Please sign the message in your wallet…");
      const signature = await window.ethereum.request({method: "personal_sign", params: [toHex(message), address]});
      say("Checking the signature…");
      const next = encodeURIComponent(button.dataset.next || "/dashboard/keys");
      const {redirect} = await post(`/dashboard/sign-in/wallet?next=${next}`, {message, signature});
      say("Signed in.");
      window.location.assign(redirect);
    } catch (error) {
      say(`Sign-in failed: ${error.message || error}`);
      button.disabled = false;
    }
  });
})();
