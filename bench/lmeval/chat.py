"""Chat prompts for lm-eval's ``--apply_chat_template``: the tokenizer's own template when it has one,
else the harmony format rendered by openai-harmony for a GPT-OSS (o200k_harmony) vocabulary."""

from __future__ import annotations

from ground.errors import UserError

HARMONY_TOKENS = ("<|start|>", "<|message|>", "<|end|>", "<|channel|>", "<|return|>")
FINAL = "<|channel|>final<|message|>"
COMPLETION_TAIL = "<|start|>assistant"  # a harmony prompt ready for the assistant ends here


def has_harmony_vocab(tokenizer) -> bool:
    return all(tokenizer.convert_tokens_to_ids(t) not in (None, tokenizer.unk_token_id) for t in HARMONY_TOKENS)


def require_template(tokenizer, flag: str = "--apply_chat_template", model: str = "this model") -> None:
    """A chat template asked (``flag``: the bench's or lm-eval's spelling) of a tokenizer that has neither."""
    if not (tokenizer.chat_template or has_harmony_vocab(tokenizer)):
        raise UserError(f"{flag}: {model}'s tokenizer has no chat template and no harmony tokens; run without {flag}")


def render(tokenizer, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
    require_template(tokenizer)
    if tokenizer.chat_template:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt,
                                             continue_final_message=not add_generation_prompt)
    return render_harmony(messages, add_generation_prompt)


def render_harmony(messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
    """System (model identity), developer (lm-eval's system message as instructions), then the turns;
    assistant turns on the final channel. Without a generation prompt, the last message stays open
    so that the model continues it (lm-eval's assistant prefix)."""
    from openai_harmony import Conversation, DeveloperContent, Message, Role, SystemContent

    from reference.tokenizer_o200k import harmony_encoding

    encoding = harmony_encoding()  # offline, loaded once per process
    turns = [Message.from_role_and_content(Role.SYSTEM, SystemContent.new())]
    for message in messages:
        role, content = message["role"], message["content"]
        if role == "system":
            turns.append(Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_instructions(content)))
        elif role == "user":
            turns.append(Message.from_role_and_content(Role.USER, content))
        elif role == "assistant":
            turns.append(Message.from_role_and_content(Role.ASSISTANT, content).with_channel("final"))
        else:
            raise UserError(f"chat role {role!r} has no harmony equivalent (system, user, assistant)")
    conversation = Conversation.from_messages(turns)
    if add_generation_prompt:
        return encoding.decode(encoding.render_conversation_for_completion(conversation, Role.ASSISTANT))
    text = encoding.decode(encoding.render_conversation(conversation))
    return text.removesuffix("<|end|>")


def final_answer(raw: str) -> str:
    """The final-channel text of a harmony completion (analysis dropped); ``raw`` keeps special tokens."""
    text = raw.rsplit(FINAL, 1)[1] if FINAL in raw else raw.rsplit("<|message|>", 1)[-1]
    for token in ("<|end|>", "<|return|>", "<|call|>"):
        text = text.split(token, 1)[0]
    return text
