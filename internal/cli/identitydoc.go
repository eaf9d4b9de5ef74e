package cli

import (
	"errors"
	"fmt"

	"github.com/runplane/runplane/api"
)

// The identity kinds name what they refer to by name: ids are assigned by the server, so a file cannot know them.

// userDoc is a User document.
type userDoc struct {
	Username string `json:"username"`
	Provider string `json:"provider"` // "" means local
	// Password, when given, is always sent: the server never shows it back, so it cannot be compared.
	Password string `json:"password,omitempty"`
	// Groups names the user's groups (of the user's provider) and replaces its membership; nil leaves the
	// membership alone.
	Groups []string `json:"groups,omitempty"`
}

// groupDoc is a Group document.
type groupDoc struct {
	Name     string `json:"name"`
	Provider string `json:"provider"` // "" means local
	// Users names the members (users of the group's provider) and replaces the membership; nil leaves it alone.
	Users []string `json:"users,omitempty"`
}

// roleDoc is a Role document; it carries the api.Role fields a file may set.
type roleDoc struct {
	Name          string     `json:"name"`
	Resource      string     `json:"resource"`
	ResourceIDs   []string   `json:"resource_ids,omitempty"`
	ResourceNames []string   `json:"resource_names,omitempty"` // Kriten's newer spelling of resource_ids
	Access        api.Access `json:"access"`
}

// bindingDoc is a RoleBinding document: it grants the role named Role to the group named Group of Provider.
type bindingDoc struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Group    string `json:"group"`
	Provider string `json:"provider"` // "" means local
}

// apiRole is the role a roleDoc declares.
func (d roleDoc) apiRole() api.Role {
	ids := d.ResourceIDs
	if ids == nil {
		ids = d.ResourceNames
	}
	return api.Role{Name: d.Name, Resource: d.Resource, ResourceIDs: ids, Access: d.Access}
}

// validateIdentity checks a User, Group, Role or RoleBinding document without a server, filling in the default
// provider.
func (m *manifest) validateIdentity() error {
	switch m.kind {
	case kindUser:
		u := &m.user
		if u.Provider == "" {
			u.Provider = api.ProviderLocal
		}
		if err := api.ValidateUsername(u.Username); err != nil {
			return err
		}
		if err := api.ValidateProvider(u.Provider); err != nil {
			return err
		}
		// Whether a local user needs a password depends on whether it exists: apply checks that.
		v := api.User{Username: u.Username, Provider: u.Provider, Password: u.Password}
		if err := v.Validate(false); err != nil {
			return err
		}
		return checkNames("groups", u.Groups)
	case kindGroup:
		g := &m.group
		if g.Provider == "" {
			g.Provider = api.ProviderLocal
		}
		v := api.Group{Name: g.Name, Provider: g.Provider}
		if err := v.Validate(); err != nil {
			return err
		}
		return checkNames("users", g.Users)
	case kindRole:
		if m.role.ResourceIDs != nil && m.role.ResourceNames != nil {
			return errors.New("give resource_ids or resource_names, not both")
		}
		r := m.role.apiRole()
		return r.Validate()
	case kindRoleBinding:
		b := &m.binding
		if b.Provider == "" {
			b.Provider = api.ProviderLocal
		}
		if b.Role == "" {
			return errors.New("role is required: the name of a role")
		}
		if b.Group == "" {
			return errors.New("group is required: the name of a group")
		}
		v := api.RoleBinding{Name: b.Name, RoleName: b.Role, SubjectKind: api.SubjectKindGroups,
			SubjectProvider: b.Provider, SubjectName: b.Group}
		return v.Validate()
	}
	return fmt.Errorf("unknown kind %q", m.kind)
}

// checkNames checks a list of names a document refers to: none empty, none twice.
func checkNames(what string, names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" {
			return fmt.Errorf("%s: empty name", what)
		}
		if seen[n] {
			return fmt.Errorf("%s: %q listed twice", what, n)
		}
		seen[n] = true
	}
	return nil
}
