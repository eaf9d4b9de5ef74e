package ui_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/runplane/runplane/internal/server/servertest"
)

// cachePromise is a Kratix promise (YAML) whose namespaced API asks a required team, a size from an enum with a
// default, and a bounded replica count.
const cachePromise = `apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata:
  name: cache
spec:
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: caches.marketplace.example.dev
    spec:
      group: marketplace.example.dev
      names:
        kind: cache
        plural: caches
        singular: cache
      scope: Namespaced
      versions:
        - name: v1alpha1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  required: [team]
                  properties:
                    team:
                      type: string
                      description: the team that owns it
                    size:
                      type: string
                      enum: [small, large]
                      default: small
                    replicas:
                      type: integer
                      minimum: 1
                      maximum: 5
`

func withPromise(t *testing.T, f fixture) *http.Client {
	t.Helper()
	root := f.browser(t, "root", servertest.RootPassword)
	if status, _, body := fetch(t, root, "POST", f.url+"/api/v1/promises", f.url, cachePromise); status != http.StatusOK {
		t.Fatalf("create promise = %d %s", status, body)
	}
	return root
}

// TestPromisePages: the promise list, and a promise page whose form is drawn from its openAPIV3Schema; the
// viewer, who has no rights on promises, is refused in words.
func TestPromisePages(t *testing.T) {
	f := setup(t)
	root := withPromise(t, f)
	if status, _, body := fetch(t, root, "POST", f.url+"/api/v1/resources/cache", f.url,
		`{"apiVersion":"marketplace.example.dev/v1alpha1","kind":"cache","metadata":{"name":"first"},"spec":{"team":"a"}}`); status != http.StatusOK {
		t.Fatalf("create request = %d %s", status, body)
	}
	checkPages(t, f, root, []pageCase{
		{name: "list", path: "/promises", status: 200, want: []string{`href="/promises/cache"`, "marketplace.example.dev/v1alpha1"}},
		{name: "promise", path: "/promises/cache", status: 200, want: []string{`id="run"`, `data-action="/api/v1/resources/cache"`,
			"the team that owns it", `id="rr-ns"`, "<td>first</td>"}},
		{name: "unknown promise", path: "/promises/nope", status: 404, want: []string{"The server answered 404"}},
	})
	viewer := f.browser(t, "viewer", viewerPassword)
	checkPages(t, f, viewer, []pageCase{
		{name: "viewer list", path: "/promises", status: 403, want: []string{"The server answered 403"}},
		{name: "viewer promise", path: "/promises/cache", status: 403, want: []string{"The server answered 403"}},
	})
}

// TestBrowserPromise requests a resource from the form drawn from the promise's schema: the required team missing
// is caught at its field, then the request is stored with the spec typed and the schema's default.
func TestBrowserPromise(t *testing.T) {
	ctx, dir := chrome(t)
	f := setup(t)
	withPromise(t, f)
	step(t, ctx, dir, "sign in", chromedp.Navigate(f.url+"/promises"), until(`location.pathname === '/login'`),
		signIn("root", servertest.RootPassword), until(`location.pathname === '/promises'`),
		chromedp.Click(chromedp.CSS(`a[href="/promises/cache"]`)), chromedp.WaitVisible(chromedp.CSS(`#fields [name="team"]`)))
	if got := eval[string](t, ctx, `document.querySelector('#fields [name="size"] option:checked').textContent`); got != "small" {
		t.Errorf("size = %q, want its default small", got)
	}
	step(t, ctx, dir, "missing team", chromedp.SendKeys(chromedp.CSS(`#rr-name`), "mine"),
		chromedp.Click(chromedp.CSS(`#run button[type=submit]`)), until(visibleError("team")))
	shot(t, ctx, dir, "31-promise-form")
	step(t, ctx, dir, "request", chromedp.SendKeys(chromedp.CSS(`#fields [name="team"]`), "platform"),
		chromedp.SendKeys(chromedp.CSS(`#fields [name="replicas"]`), "2"),
		chromedp.Click(chromedp.CSS(`#run button[type=submit]`)),
		until(`[...document.querySelectorAll('#requests td')].some(td => td.textContent === 'mine')`))
	shot(t, ctx, dir, "32-promise-requested")
	root := f.browser(t, "root", servertest.RootPassword)
	status, _, body := fetch(t, root, "GET", f.url+"/api/v1/resources/cache/mine?namespace=default", "", "")
	if status != http.StatusOK {
		t.Fatalf("GET the request = %d %s", status, body)
	}
	for _, want := range []string{`"team":"platform"`, `"replicas":2`, `"size":"small"`} {
		if !strings.Contains(body, want) {
			t.Errorf("stored request %s lacks %s", body, want)
		}
	}
}
