import { JinjaTemplateChatWrapper } from 'node-llama-cpp';
import { HearthError } from '../../errors/index.js';
import { isGoTemplate } from '../template-facts.js';

/**
 * A chat template as hearth runs it: Jinja, the language GGUF files carry in
 * `tokenizer.chat_template` and node-llama-cpp renders. The wrapper's own
 * sanity test (a system, user and assistant turn must all reach the output)
 * runs here, so a template that cannot render a chat is refused when it is
 * stored, never on the first request.
 */
export function assertChatTemplate(template: string, field = 'template'): JinjaTemplateChatWrapper {
  if (isGoTemplate(template)) {
    throw new HearthError('USAGE', `invalid request: ${field}: this is a Go template (Ollama's own format); hearth runs Jinja chat templates, as GGUF files carry them`, {
      details: { field },
      hint: "use the model's tokenizer.chat_template from its GGUF or tokenizer_config.json, e.g. {% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
    });
  }
  try {
    return new JinjaTemplateChatWrapper({ template });
  } catch (error) {
    throw new HearthError('USAGE', `invalid request: ${field}: the chat template cannot render a chat: ${(error as Error).message}`, { details: { field }, cause: error });
  }
}
