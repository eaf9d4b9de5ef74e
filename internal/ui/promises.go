package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/runplane/runplane/api"
)

// crd is the part of a promise's spec.api (a CustomResourceDefinition) the request form is drawn from.
type crd struct {
	Spec struct {
		Scope    string `json:"scope"`
		Versions []struct {
			Name    string `json:"name"`
			Served  bool   `json:"served"`
			Storage bool   `json:"storage"`
			Schema  *struct {
				OpenAPIV3Schema struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

// requestForm is what a promise's request form needs: the apiVersion and kind a request is written with, whether
// it has a namespace, and the JSON Schema of its spec ("{}": anything).
func requestForm(p api.Promise) (apiVersion, kind string, namespaced bool, specSchema string) {
	apiVersion, kind, specSchema = p.Status.APIVersion, p.Status.Kind, "{}"
	var c crd
	if json.Unmarshal(p.Spec.API, &c) != nil {
		return apiVersion, kind, false, specSchema
	}
	_, version, _ := strings.Cut(apiVersion, "/")
	for _, v := range c.Spec.Versions {
		if v.Name == version && v.Schema != nil && len(v.Schema.OpenAPIV3Schema.Properties["spec"]) > 0 {
			specSchema = string(v.Schema.OpenAPIV3Schema.Properties["spec"])
		}
	}
	return apiVersion, kind, c.Spec.Scope == "Namespaced", specSchema
}

func (h *Handler) promisesPage(r *http.Request) (string, view, error) {
	var list []api.Promise
	if _, err := h.get(r, "/api/v1/promises", &list); err != nil {
		return "", view{}, err
	}
	return "promises", view{Title: "Promises", Nav: "promises", User: true, Data: list}, nil
}

func (h *Handler) promisePage(r *http.Request) (string, view, error) {
	name := r.PathValue("name")
	var p api.Promise
	if _, err := h.get(r, "/api/v1/promises/"+url.PathEscape(name), &p); err != nil {
		return "", view{}, err
	}
	var requests []api.ResourceRequest
	canList, err := refusal(h.get(r, "/api/v1/resources/"+url.PathEscape(name), &requests))
	if err != nil {
		return "", view{}, err
	}
	// Whoever may write requests of the promise gets a 400 for an empty one in a dry run, anyone else a 403.
	_, err = h.call(r, http.MethodPost, "/api/v1/resources/"+url.PathEscape(name)+"?dryRun=All", "application/json", []byte(`{}`), nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status != http.StatusForbidden && ae.Status != http.StatusUnauthorized {
		err = nil // 400 for the empty request, or 409 while the promise is unavailable: the form says why on submit
	}
	canRequest, err := refusal(0, err)
	if err != nil {
		return "", view{}, err
	}
	apiVersion, kind, namespaced, schema := requestForm(p)
	type row struct {
		api.ResourceRequest
		Status string
	}
	rows := make([]row, 0, len(requests))
	for _, rr := range requests {
		var st struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(rr.Status, &st)
		rows = append(rows, row{rr, st.Message})
	}
	return "promise", view{Title: name, Nav: "promises", User: true, Data: map[string]any{
		"Promise": p, "APIVersion": apiVersion, "Kind": kind, "Namespaced": namespaced, "Schema": schema,
		"CanRequest": canRequest, "CanList": canList, "Requests": rows,
	}}, nil
}
