package ldap

import (
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// FuzzUserFilter checks that no username changes a filter's structure: every username Authenticate would send
// compiles, in the default user and group filters, to exactly the equality assertions the filters spell, each
// carrying the username or DN byte for byte.
func FuzzUserFilter(f *testing.F) {
	for _, s := range []string{"alice", "*", "alice)(uid=*", `a\b`, "jürgen", "{dn}", "{username}", "\x00", "(", ")("} {
		f.Add(s, "cn=x,dc=example,dc=org")
	}
	f.Fuzz(func(t *testing.T, username, dn string) {
		if !validUsername(username) {
			return
		}
		// The packets are walked inline: naming their type would make asn1-ber a direct dependency.
		pkt, err := goldap.CompileFilter(expandFilter(DefaultUserFilter, username, dn))
		if err != nil {
			t.Fatalf("user filter for %q does not compile: %v", username, err)
		}
		if pkt.Tag != goldap.FilterEqualityMatch || len(pkt.Children) != 2 ||
			pkt.Children[0].Data.String() != "uid" || pkt.Children[1].Data.String() != username {
			t.Fatalf("user filter for %q compiled to %s, want (uid=<username>)", username, decompile(goldap.DecompileFilter(pkt)))
		}

		pkt, err = goldap.CompileFilter(expandFilter(DefaultGroupFilter, username, dn))
		if err != nil {
			t.Fatalf("group filter for %q, %q does not compile: %v", username, dn, err)
		}
		want := [][2]string{{"member", dn}, {"uniqueMember", dn}, {"memberUid", username}}
		if pkt.Tag != goldap.FilterOr || len(pkt.Children) != len(want) {
			t.Fatalf("group filter for %q, %q compiled to %s, want an OR of three", username, dn, decompile(goldap.DecompileFilter(pkt)))
		}
		for i, c := range pkt.Children {
			if c.Tag != goldap.FilterEqualityMatch || len(c.Children) != 2 ||
				c.Children[0].Data.String() != want[i][0] || c.Children[1].Data.String() != want[i][1] {
				t.Fatalf("group filter for %q, %q compiled to %s, want (%s=%q) as part %d", username, dn,
					decompile(goldap.DecompileFilter(pkt)), want[i][0], want[i][1], i)
			}
		}
	})
}

// decompile renders a compiled filter for a failure message.
func decompile(filter string, err error) string {
	if err != nil {
		return "an undecompilable filter"
	}
	return filter
}

// FuzzGroupKey checks that normalizing a GroupMap key or a group DN never panics and is idempotent, so that a key
// and the DN the directory returns meet at the same string.
func FuzzGroupKey(f *testing.F) {
	for _, s := range []string{
		"cn=ops,ou=groups,dc=example,dc=org", "CN=Ops, OU=Groups", `cn=a\,b`, "cn=#04024869", "uid=a+cn=b",
		"Domain  Admins", "=", "cn=", ",", `cn=\`, "cn= x ;dc=y", `\==`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		norm, isDN, err := normalizeGroupKey(key)
		if err != nil {
			return
		}
		again, isDNAgain, err := normalizeGroupKey(norm)
		if err != nil || again != norm || isDNAgain != isDN {
			t.Fatalf("normalizeGroupKey(%q) = %q, but normalizing that gives %q, %v, %v", key, norm, again,
				isDNAgain, err)
		}
		_ = firstCN(key)
	})
}
