package ui

// LoadLocales exposes the locale loader to the external tests.
func LoadLocales() (map[string]map[string]string, error) {
	l, err := loadLocales()
	return l, err
}
