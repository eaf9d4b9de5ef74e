package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the hand-kept OpenAPI 3.1 description of every route in table(); TestOpenAPICoversRoutes keeps
// the two in step.
//
//go:embed openapi.json
var openAPIDoc []byte

func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err := w.Write(openAPIDoc)
	return err
}
