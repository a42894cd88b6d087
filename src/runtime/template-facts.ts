/** What a chat template's text says about a model, read without an engine (for /api/show and lists). */

/** A template with a tool format renders `tools` (Ollama decides the same way, from its own templates). */
export function hasToolFormat(template: string | undefined): boolean {
  return template !== undefined && /\btools\b/.test(template);
}

/** Ollama's Go templates (`{{ .Prompt }}`, `{{ if .System }}`): a field reference after `{{`, which Jinja has no syntax for. */
export function isGoTemplate(template: string): boolean {
  return /\{\{-?\s*(?:(?:if|range|with|else if)\s+)?[.$]/.test(template);
}
