package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/runplane/runplane/internal/auth/ldap"
)

// loadLDAPEnv fills the directory settings from RUNPLANE_LDAP_* variables:
//
//	RUNPLANE_LDAP_URL                 ldaps://dc.example.org:636, or ldap://... with STARTTLS (or ALLOW_PLAIN)
//	RUNPLANE_LDAP_START_TLS           true to upgrade ldap:// with StartTLS
//	RUNPLANE_LDAP_CA_FILE             PEM bundle the directory's certificate must chain to (default: system roots)
//	RUNPLANE_LDAP_SERVER_NAME         TLS name to expect, when it differs from the URL's host
//	RUNPLANE_LDAP_ALLOW_PLAIN         true to allow ldap:// without TLS (passwords cross the network in clear)
//	RUNPLANE_LDAP_BIND_DN             service account that searches for users
//	RUNPLANE_LDAP_BIND_PASSWORD       its password, or RUNPLANE_LDAP_BIND_PASSWORD_FILE naming a file holding it
//	                                  (read with the other secrets by LoadEnv)
//	RUNPLANE_LDAP_BASE_DN             where users are searched
//	RUNPLANE_LDAP_USER_FILTER         default (uid={username}); Active Directory: (sAMAccountName={username})
//	RUNPLANE_LDAP_GROUP_BASE_DN       where groups are searched (default: the base DN)
//	RUNPLANE_LDAP_GROUP_FILTER        default (|(member={dn})(uniqueMember={dn})(memberUid={username}))
//	RUNPLANE_LDAP_GROUP_MAP           JSON object: directory group (DN or CN) → runplane group of provider
//	                                  active_directory, e.g. {"cn=ops,ou=groups,dc=example,dc=org": "operators"}
func loadLDAPEnv(c *ldap.Config, get func(string) (string, bool)) error {
	strs := []struct {
		name string
		dst  *string
	}{
		{"RUNPLANE_LDAP_URL", &c.URL},
		{"RUNPLANE_LDAP_CA_FILE", &c.CAFile},
		{"RUNPLANE_LDAP_SERVER_NAME", &c.ServerName},
		{"RUNPLANE_LDAP_BIND_DN", &c.BindDN},
		{"RUNPLANE_LDAP_BASE_DN", &c.BaseDN},
		{"RUNPLANE_LDAP_USER_FILTER", &c.UserFilter},
		{"RUNPLANE_LDAP_GROUP_BASE_DN", &c.GroupBaseDN},
		{"RUNPLANE_LDAP_GROUP_FILTER", &c.GroupFilter},
	}
	for _, s := range strs {
		if v, ok := get(s.name); ok {
			*s.dst = v
		}
	}
	bools := []struct {
		name string
		dst  *bool
	}{
		{"RUNPLANE_LDAP_START_TLS", &c.StartTLS},
		{"RUNPLANE_LDAP_ALLOW_PLAIN", &c.AllowPlain},
	}
	for _, b := range bools {
		v, ok := get(b.name)
		if !ok {
			continue
		}
		x, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%s=%q: want true or false", b.name, v)
		}
		*b.dst = x
	}
	if v, ok := get("RUNPLANE_LDAP_GROUP_MAP"); ok {
		m := map[string]string{}
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return fmt.Errorf(`RUNPLANE_LDAP_GROUP_MAP: want a JSON object such as {"cn=ops,ou=groups,dc=example,dc=org": "operators"}: %v`, err)
		}
		c.GroupMap = m
	}
	return nil
}
