//go:build !unix

package executor

import (
	"errors"
	"os"
)

func dupFile(*os.File) (*os.File, error) { return nil, errors.New("not supported") }
