package ui_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/madoguchi/madoguchi/booking"
)

// forbiddenCardWord is the card's name the spec forbids in what citizens read: they are told
// 「マイナンバーカード」 everywhere (the older 「個人番号カード」 confuses them with the 12-digit 個人番号).
const forbiddenCardWord = "個人番号カード"

// TestCitizenWordingMyNumberCard fails when 「個人番号カード」 appears in any page template, any
// message of either locale, the citizen mails' default wording, or the mail code that adds to it
// (signature, calendar entry).
func TestCitizenWordingMyNumberCard(t *testing.T) {
	var files []string
	for _, dir := range []string{"templates", "web/templates", "web/locale", "status", "callcenter"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".html") || strings.HasSuffix(path, ".json")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	mailCode, err := filepath.Glob("../booking/mail*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range mailCode {
		if !strings.HasSuffix(f, "_test.go") {
			files = append(files, f)
		}
	}
	if len(files) < 50 {
		t.Fatalf("only %d files to check: the test lost its way", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, forbiddenCardWord) {
				t.Errorf("%s:%d says %s; citizens are told マイナンバーカード: %s", f, i+1, forbiddenCardWord, strings.TrimSpace(line))
			}
		}
	}
	for _, kind := range booking.MailKinds {
		for _, lang := range booking.MailLangs {
			subject, body := booking.DefaultMailTemplate(kind, lang)
			if strings.Contains(subject+body, forbiddenCardWord) {
				t.Errorf("the default %s mail (%s) says %s", kind, lang, forbiddenCardWord)
			}
		}
	}
}
