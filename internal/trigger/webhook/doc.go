// Package webhook verifies the signatures of webhook deliveries: Standard Webhooks (what Infrahub sends), NetBox
// and Nautobot, GitHub, GitLab and a generic HMAC-SHA256 header. Each verifier is a pure function of the request's
// headers, its body, the webhook's secret and the time now; each compares in constant time.
//
// It must never do I/O, log, or put a secret or a signature into an error: its errors reach logs.
package webhook
