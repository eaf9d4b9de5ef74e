package api

// CallerAccess is what the caller of GET /api/v1/access may do: who they are, and for each resource on which their
// roles grant anything, the strongest access they hold on at least one of its objects (write implies read). It
// says what a client may offer (a link, a button); the API still decides each request on its object.
type CallerAccess struct {
	UserID    string            `json:"user_id"`
	Username  string            `json:"username"`
	Provider  string            `json:"provider"`
	Resources map[string]Access `json:"resources"`
}
