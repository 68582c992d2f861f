"""Renders chat templates with Jinja2, as transformers' apply_chat_template does, for
tests/text/chat_test.cpp (usage: chat_template.py SMOLLM2_GGUF).

Prints one JSON object: for each template (the SmolLM2 GGUF's tokenizer.chat_template, and
the string-content path of Gemma 3's template, transcribed below because the shipped Gemma
3 270M is a base model without one), the template text and its rendering of each
conversation, with the generation prompt.
"""
import json
import sys

import gguf
import jinja2

GEMMA3 = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
    {{- message['content'] | trim }}
    {{- '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{ '<start_of_turn>model\\n' }}
{%- endif -%}
"""

CONVERSATIONS = [
    [{"role": "user", "content": "Q: 2 + 3\nA:"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Q: hi\nA:"}],
    [
        {"role": "user", "content": "Q: Numbers 5 1 0 0 on a red card.\nA:"},
        {"role": "assistant", "content": "yes"},
        {"role": "user", "content": "  Q: café ☕ \n\nA:"},
    ],
]


def smollm2_template(path):
    field = gguf.GGUFReader(path).fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode()


def render(template, bos):
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)  # transformers' settings
    t = env.from_string(template)
    return [t.render(messages=c, add_generation_prompt=True, bos_token=bos)[len(bos):] for c in CONVERSATIONS]


out = {
    "conversations": CONVERSATIONS,
    "templates": [
        {"name": "smollm2", "template": (tpl := smollm2_template(sys.argv[1])), "rendered": render(tpl, "")},
        {"name": "gemma3", "template": GEMMA3, "rendered": render(GEMMA3, "<bos>")},
    ],
}
print(json.dumps(out))
