package ui_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/auth/ldap"
	"github.com/runplane/runplane/internal/auth/ldap/ldaptest"
	"github.com/runplane/runplane/internal/server"
)

// TestBrowserSignIn: an Active Directory user (a real slapd) signs in through the page and gets the rights of the
// runplane group their directory group maps to; a wrong directory password is shown in words; and a session that
// expires — on opening a page, or while a page is open and the user acts — returns to sign-in and, signed in
// again, to the page the user was on. The expired session is the user's own token with its expiry in the past,
// signed with the server's key, so only its expiry makes the server refuse it.
func TestBrowserSignIn(t *testing.T) {
	ctx, dir := chrome(t)
	directory := ldaptest.Start(t)
	var keysDir string
	f := setup(t, func(c *server.Config) {
		c.LDAP = ldap.Config{
			URL:          directory.LDAPSURL,
			CAFile:       directory.CAFile,
			BindDN:       directory.BindDN,
			BindPassword: directory.BindPassword,
			BaseDN:       directory.BaseDN,
			GroupMap:     map[string]string{ldaptest.GroupDN("operators"): "operators"},
		}
		keysDir = c.DataDir
	})
	grantOperators(t, f)
	u := f.url

	adSignIn := func(password string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.WaitVisible(chromedp.CSS("#login")),
			chromedp.SetValue(chromedp.CSS("#provider"), api.ProviderActiveDirectory),
			signIn("alice", password),
		)
	}
	step(t, ctx, dir, "task page signed out", chromedp.Navigate(u+"/tasks/greet"), until(`location.pathname === '/login'`))
	step(t, ctx, dir, "wrong directory password", adSignIn("not-alices-password"),
		until(`!document.querySelector('#login-error').hidden`))
	if got := eval[string](t, ctx, `document.querySelector('#login-error').textContent`); got != "Sign-in failed: invalid username or password." {
		t.Errorf("login error = %q", got)
	}
	step(t, ctx, dir, "directory sign-in", clear("#username"), clear("#password"), adSignIn(directory.Users["alice"]),
		until(`location.pathname === '/tasks/greet'`), chromedp.WaitVisible(chromedp.CSS(`#run`)))
	shot(t, ctx, dir, "01-ad-user-task")
	step(t, ctx, dir, "run as alice", chromedp.SendKeys(chromedp.CSS(`#fields [name="name"]`), "alice"),
		chromedp.Click(chromedp.CSS(`#run button[type=submit]`)), until(`!document.querySelector('#result').hidden`))
	if got := eval[string](t, ctx, `document.querySelector('#result-status').textContent`); got == "" {
		t.Error("alice's run shows no status")
	}

	// The session expires while the task page is open: acting on it goes to sign-in, and back.
	expire(t, ctx, dir, u, filepath.Join(keysDir, "jwt.key"))
	step(t, ctx, dir, "run with an expired session", clear(`#fields [name="name"]`),
		chromedp.SendKeys(chromedp.CSS(`#fields [name="name"]`), "alice"),
		chromedp.Click(chromedp.CSS(`#run button[type=submit]`)),
		until(`location.pathname === '/login' && new URLSearchParams(location.search).get('next') === '/tasks/greet'`))
	shot(t, ctx, dir, "02-expired-to-sign-in")
	step(t, ctx, dir, "sign in again", adSignIn(directory.Users["alice"]), until(`location.pathname === '/tasks/greet'`),
		chromedp.WaitVisible(chromedp.CSS(`#run`)))

	// The session expires between pages: the next page asks for sign-in, then shows itself.
	expire(t, ctx, dir, u, filepath.Join(keysDir, "jwt.key"))
	step(t, ctx, dir, "job list with an expired session", chromedp.Navigate(u+"/jobs?task=greet"),
		until(`location.pathname === '/login'`), adSignIn(directory.Users["alice"]),
		until(`location.pathname === '/jobs' && location.search === '?task=greet'`))
	shot(t, ctx, dir, "03-back-on-jobs")
}

// grantOperators lets the runplane group "operators" of provider active_directory read and run greet.
func grantOperators(t *testing.T, f fixture) {
	t.Helper()
	c := t.Context()
	g, err := f.c.CreateGroup(c, api.Group{Name: "operators", Provider: api.ProviderActiveDirectory})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	for _, r := range []api.Role{
		{Name: "operators-read-greet", Resource: api.ResourceTasks, ResourceIDs: []string{"greet"}, Access: api.AccessRead},
		{Name: "operators-run-greet", Resource: api.ResourceJobs, ResourceIDs: []string{"greet"}, Access: api.AccessWrite},
	} {
		role, err := f.c.CreateRole(c, r)
		if err != nil {
			t.Fatalf("CreateRole: %v", err)
		}
		if _, err := f.c.CreateRoleBinding(c, api.RoleBinding{Name: r.Name, RoleID: role.ID, GroupID: g.ID}); err != nil {
			t.Fatalf("CreateRoleBinding: %v", err)
		}
	}
}

// expire replaces the browser's session cookie with the same session expired a minute ago, signed with the
// server's key at keyFile.
func expire(t *testing.T, ctx context.Context, dir, u, keyFile string) {
	t.Helper()
	key, err := auth.LoadOrCreateSigningKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, dir, "expire the session", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		got, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
		if err != nil {
			return err
		}
		var session *network.Cookie
		for _, c := range got.Cookies {
			if c.Name == "token" {
				session = c
			}
		}
		if session == nil {
			t.Fatalf("no session cookie among %d cookies", len(got.Cookies))
		}
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(session.Value, claims); err != nil {
			t.Fatalf("the session cookie is not a token: %v", err)
		}
		now := time.Now()
		claims["iat"] = jwt.NewNumericDate(now.Add(-2 * time.Hour))
		claims["exp"] = jwt.NewNumericDate(now.Add(-time.Minute))
		expired, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
		if err != nil {
			return err
		}
		httpOnly := true
		_, err = cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: "token", Value: expired, URL: u,
			Path: session.Path, HTTPOnly: &httpOnly, SameSite: session.SameSite})
		return err
	}))
}
