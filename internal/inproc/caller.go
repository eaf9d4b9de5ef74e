package inproc

import "context"

type callerKey struct{}

// WithCaller returns a copy of ctx naming the part of the server that makes an in-process call (e.g.
// "kubernetes" for the mirror of the cluster's objects): the audit log records it as the entry's source, where a
// network call has its address. Only code in the process can set it; no header of a request can.
func WithCaller(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, callerKey{}, name)
}

// Caller is the name WithCaller put in ctx, or "".
func Caller(ctx context.Context) string {
	s, _ := ctx.Value(callerKey{}).(string)
	return s
}
