// Package api holds the wire types of runplane's REST API, shared by the server, the Go client and the CLI.
//
// Field names follow Kriten's JSON so existing Kriten clients keep working. Each noun has a Validate method that
// checks what can be checked without a store. This package imports only the standard library and must stay so.
package api
