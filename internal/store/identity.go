package store

import (
	"context"
	"time"

	"github.com/runplane/runplane/api"
)

// Identity objects (users, groups, roles, role bindings, API tokens, audit entries) are addressed by a UUID id.
// Every Create fills an empty ID with a new UUID and zero times with now, and returns the object as stored. Objects
// marked Builtin are created by the server at start: Update and Delete refuse them with ErrConflict (a built-in
// user's password and a built-in group's members may still change).

// User is a user as stored. Password is always empty: only PasswordHash (an encoded argon2id hash, empty for
// directory users) is kept, and it never leaves the server.
type User struct {
	api.User
	PasswordHash string
	// Generation counts password changes and revocations of every credential of the user (RevokeCredentials).
	// Session tokens carry the generation they were issued at and stop being valid when it moves on.
	Generation int64
}

// Users stores users. Groups in a returned user lists the ids of its groups, ordered by id.
type Users interface {
	// CreateUser stores a user and, when u.Groups is not nil, its membership; ErrConflict if (provider, username)
	// or the id is taken, ErrInvalid if a group does not exist or belongs to another provider.
	CreateUser(ctx context.Context, u User) (User, error)
	// GetUser returns a user by id; ErrNotFound if absent.
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByName returns a user; ErrNotFound if absent.
	GetUserByName(ctx context.Context, provider, username string) (User, error)
	// ListUsers returns every user ordered by provider then username; never nil.
	ListUsers(ctx context.Context) ([]User, error)
	// SetPassword replaces a user's password hash and, in the same transaction, ends every credential of the user
	// as RevokeCredentials does; ErrNotFound if absent.
	SetPassword(ctx context.Context, id, passwordHash string) error
	// SetUserGroups replaces the groups a user belongs to; ErrNotFound if the user is absent, ErrInvalid if a group
	// does not exist or belongs to another provider.
	SetUserGroups(ctx context.Context, userID string, groupIDs []string) error
	// DeleteUser removes a user and its API tokens; ErrNotFound if absent, ErrConflict if built in or still in a
	// group (the message names the groups).
	DeleteUser(ctx context.Context, id string) error
}

// Groups stores groups. UserIDs in a returned group lists its members and RoleIDs the roles bound to it, each
// ordered by id and never nil.
type Groups interface {
	// CreateGroup stores a group and, when g.UserIDs is not nil, its members; ErrConflict if (provider, name) or
	// the id is taken, ErrInvalid if a member does not exist or belongs to another provider. RoleIDs is ignored.
	CreateGroup(ctx context.Context, g api.Group) (api.Group, error)
	// GetGroup returns a group by id; ErrNotFound if absent.
	GetGroup(ctx context.Context, id string) (api.Group, error)
	// GetGroupByName returns a group; ErrNotFound if absent.
	GetGroupByName(ctx context.Context, provider, name string) (api.Group, error)
	// ListGroups returns every group ordered by provider then name; never nil.
	ListGroups(ctx context.Context) ([]api.Group, error)
	// UpdateGroup renames the group g.ID and, when g.UserIDs is not nil, replaces its members. Provider and
	// RoleIDs are ignored. ErrNotFound if absent; ErrConflict if the new name is taken or a built-in group would be
	// renamed; ErrInvalid as for CreateGroup.
	UpdateGroup(ctx context.Context, g api.Group) (api.Group, error)
	// DeleteGroup removes a group; ErrNotFound if absent, ErrConflict if built in, if it has members or if a role
	// is bound to it (the message names what is in the way).
	DeleteGroup(ctx context.Context, id string) error
}

// Roles stores roles. Role names are unique.
type Roles interface {
	// CreateRole stores a role; ErrConflict if the name or id is taken.
	CreateRole(ctx context.Context, r api.Role) (api.Role, error)
	// GetRole returns a role by id; ErrNotFound if absent.
	GetRole(ctx context.Context, id string) (api.Role, error)
	// GetRoleByName returns a role by name; ErrNotFound if absent.
	GetRoleByName(ctx context.Context, name string) (api.Role, error)
	// ListRoles returns every role ordered by name; never nil.
	ListRoles(ctx context.Context) ([]api.Role, error)
	// UpdateRole replaces the role r.ID; ErrNotFound if absent, ErrConflict if built in or the new name is taken.
	UpdateRole(ctx context.Context, r api.Role) (api.Role, error)
	// DeleteRole removes a role; ErrNotFound if absent, ErrConflict if built in or bound (naming the bindings).
	DeleteRole(ctx context.Context, id string) error
}

// RoleBindings stores role bindings. A returned binding has RoleName, SubjectKind ("groups"), SubjectProvider,
// SubjectName and SubjectID filled from its role and group.
type RoleBindings interface {
	// CreateRoleBinding stores a binding of b.RoleID to b.GroupID (the name fields are ignored); ErrConflict if the
	// name or id is taken or the role is already bound to the group, ErrInvalid if the role or group does not exist.
	CreateRoleBinding(ctx context.Context, b api.RoleBinding) (api.RoleBinding, error)
	// GetRoleBinding returns a binding by id; ErrNotFound if absent.
	GetRoleBinding(ctx context.Context, id string) (api.RoleBinding, error)
	// ListRoleBindings returns every binding ordered by name; never nil.
	ListRoleBindings(ctx context.Context) ([]api.RoleBinding, error)
	// UpdateRoleBinding replaces the name, role and group of the binding b.ID; errors as for create, plus
	// ErrNotFound if absent and ErrConflict if built in.
	UpdateRoleBinding(ctx context.Context, b api.RoleBinding) (api.RoleBinding, error)
	// DeleteRoleBinding removes a binding; ErrNotFound if absent, ErrConflict if built in.
	DeleteRoleBinding(ctx context.Context, id string) error
}

// Access answers, in one read, what authorizing a request needs.
type Access interface {
	// UserAccess returns a user and every role bound to a group the user belongs to (each role once, ordered by
	// name); ErrNotFound if the user is absent.
	UserAccess(ctx context.Context, userID string) (User, []api.Role, error)
}

// APIToken is an API token as stored: the key itself is never kept, only KeyHash, a keyed hash of it.
type APIToken struct {
	api.APIToken
	KeyHash string
}

// Sessions records the ends of session tokens, so that every replica refuses them. Sessions are otherwise not
// stored: a session token is a signed claim that names its user, its generation and its id.
type Sessions interface {
	// RevokeSession records that the session id of user userID ended (a logout). The record is kept until
	// expires, when the session would have ended anyway. Revoking a session twice is not an error.
	RevokeSession(ctx context.Context, userID, id string, expires time.Time) error
	// RevokedSessions returns the ids of userID's revoked sessions whose expiry is still to come; never nil.
	RevokedSessions(ctx context.Context, userID string) ([]string, error)
	// RevokeCredentials ends every session and API token of a user in one transaction: its Generation is
	// incremented and each of its tokens not yet revoked is disabled with RevokedAt set to now. ErrNotFound if
	// the user is absent.
	RevokeCredentials(ctx context.Context, userID string) error
}

// APITokens stores API tokens. Key in a returned token is always empty.
type APITokens interface {
	// CreateAPIToken stores a token; ErrConflict if the id or key hash is taken, ErrInvalid if the owner does
	// not exist.
	CreateAPIToken(ctx context.Context, t APIToken) (APIToken, error)
	// GetAPIToken returns a token by id; ErrNotFound if absent.
	GetAPIToken(ctx context.Context, id string) (APIToken, error)
	// GetAPITokenByHash returns the token whose key hashes to keyHash; ErrNotFound if none.
	GetAPITokenByHash(ctx context.Context, keyHash string) (APIToken, error)
	// ListAPITokens returns the tokens of owner (every token when owner is "") ordered by creation time; never nil.
	ListAPITokens(ctx context.Context, owner string) ([]APIToken, error)
	// UpdateAPIToken replaces the description, enabled flag, DisabledByAdmin and expiry of the token t.ID;
	// RevokedAt is kept as stored, and a revoked token stays disabled whatever t says. ErrNotFound if absent.
	UpdateAPIToken(ctx context.Context, t APIToken) (APIToken, error)
	// DeleteAPIToken removes a token; ErrNotFound if absent.
	DeleteAPIToken(ctx context.Context, id string) error
}

// Audit stores the audit log. Entries are never changed through it, and deleted only by PruneAudit, which the
// server's retention runs: never on a client's request.
type Audit interface {
	// AppendAudit stores entries in one write, filling empty IDs and zero CreateTimes.
	AppendAudit(ctx context.Context, entries ...api.AuditLog) error
	// ListAudit returns the newest max entries, newest first (by CreateTime, then id); never nil. max <= 0 means
	// no limit. It is FindAudit with only a Limit.
	ListAudit(ctx context.Context, max int) ([]api.AuditLog, error)
	// FindAudit returns the entries matching f newest first (by CreateTime, then id; never nil), and how many
	// match f without its Limit and Offset. Both come from one snapshot.
	FindAudit(ctx context.Context, f AuditFilter) (entries []api.AuditLog, total int, err error)
	// GetAudit returns an entry by id; ErrNotFound if absent.
	GetAudit(ctx context.Context, id string) (api.AuditLog, error)
	// PruneAudit deletes the entries created before before and returns how many it deleted. It deletes in
	// batches, each its own write, so a large backlog does not hold the store's write lock for long.
	PruneAudit(ctx context.Context, before time.Time) (int, error)
}

// AuditFilter selects audit entries for FindAudit. Zero values select everything; the conditions combine (AND).
type AuditFilter struct {
	// User keeps the entries of the user with this name or this id.
	User        string
	EventType   string
	EventTarget string
	Category    string // the entry's EventCategory
	Status      string
	// Since and Until keep entries created at or after Since and before Until; a zero time is no bound.
	Since, Until time.Time
	// IDs, when not nil, keeps only the entries with these ids (none when empty): what a caller may read.
	IDs    []string
	Limit  int // 0: no limit; a negative Limit or Offset counts as zero
	Offset int
}
