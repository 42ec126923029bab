//go:build router

package config

// decodeTOML decodes text with the package's own reader, which is much
// smaller than the toml library (see toml_mini_core.go). An error is a
// *tomlError.
func decodeTOML(text string) (map[string]any, error) {
	return parseMiniTOML(text)
}
