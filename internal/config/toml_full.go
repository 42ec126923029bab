//go:build !router

package config

import (
	"errors"

	"github.com/BurntSushi/toml"
)

// decodeTOML decodes text with the toml library. A syntax error is a
// *tomlError at the library's byte offset (its own column is off for
// errors at a line start). Router builds use parseMiniTOML instead
// (toml_mini.go).
func decodeTOML(text string) (map[string]any, error) {
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		if pe, ok := errors.AsType[toml.ParseError](err); ok {
			return nil, &tomlError{off: pe.Position.Start, msg: pe.Message}
		}
		return nil, err
	}
	return doc, nil
}
