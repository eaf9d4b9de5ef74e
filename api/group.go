package api

import "time"

// Group is a set of users of one provider; roles are granted to groups through role bindings.
//
// UserIDs is the membership: on create and update it replaces the members (omit it to keep them). RoleIDs lists
// the roles bound to the group; it is read-only (bind roles with role bindings), and a request may only repeat it.
type Group struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Provider   string    `json:"provider"`
	UserIDs    []string  `json:"user_ids"`
	RoleIDs    []string  `json:"role_ids"`
	Builtin    bool      `json:"builtin,omitempty"`
	CreateTime time.Time `json:"created_at"`
	UpdateTime time.Time `json:"updated_at"`
}

// GroupMember names a user in /groups/{id}/users and /users/{id}/groups. A member is found by id, or by name and
// provider when id is empty.
type GroupMember struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	Provider string `json:"provider"`
}

// Validate checks a group, without a store.
func (g *Group) Validate() error {
	if g.Name == "" {
		return Invalidf("name is required")
	}
	if err := validateLabel("name", g.Name, 256); err != nil {
		return err
	}
	if err := ValidateProvider(g.Provider); err != nil {
		return err
	}
	if err := validateIDs("user_ids", g.UserIDs); err != nil {
		return err
	}
	return validateIDs("role_ids", g.RoleIDs)
}
