package api

// Login is the body of POST /api/v1/login.
type Login struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Provider string `json:"provider"`
}

// Providers of identity.
const (
	ProviderLocal           = "local"
	ProviderActiveDirectory = "active_directory"
)

// LoginResponse is the answer to a login or refresh.
type LoginResponse struct {
	Token string `json:"token"`
}

// Error is the body of every failed API request.
type Error struct {
	Error string `json:"error"`
	// Fields lists failing JSON paths when input failed schema validation.
	Fields []FieldError `json:"fields,omitempty"`
}
