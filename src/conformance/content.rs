//! Fixture resources, resource templates, prompts and completions of the conformance suite.

use super::tools::PNG_1X1;
use rmcp::model::{
    CompleteRequestParams, CompleteResult, CompletionInfo, ContentBlock, ErrorData,
    GetPromptResult, ImageContent, JsonObject, Prompt, PromptArgument, PromptMessage,
    ReadResourceResult, Reference, Resource, ResourceContents, ResourceTemplate, Role,
};
use serde_json::{Value, json};

const TEMPLATE_PREFIX: &str = "test://template/";
const TEMPLATE_SUFFIX: &str = "/data";

/// Static resources.
pub(super) fn resources() -> Vec<Resource> {
    vec![
        Resource::new("test://static-text", "Static Text Resource")
            .with_description("A static text resource for testing")
            .with_mime_type("text/plain"),
        Resource::new("test://static-binary", "Static Binary Resource")
            .with_description("A static binary resource (a PNG) for testing")
            .with_mime_type("image/png"),
    ]
}

/// Resource templates.
pub(super) fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new("test://template/{id}/data", "Dynamic Resource")
            .with_description("A resource whose {id} is substituted into its content")
            .with_mime_type("application/json"),
    ]
}

/// Reads a static resource or a template instance; unknown URIs are resource-not-found.
pub(super) fn read(uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let contents = match uri {
        "test://static-text" => {
            ResourceContents::text("This is the content of the static text resource.", uri)
        }
        "test://static-binary" => ResourceContents::blob(PNG_1X1, uri).with_mime_type("image/png"),
        _ => {
            let id = uri
                .strip_prefix(TEMPLATE_PREFIX)
                .and_then(|rest| rest.strip_suffix(TEMPLATE_SUFFIX))
                .filter(|id| !id.is_empty() && !id.contains('/'));
            let Some(id) = id else {
                return Err(ErrorData::resource_not_found(
                    format!("Resource not found: {uri}"),
                    Some(json!({ "uri": uri })),
                ));
            };
            let body =
                json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
            ResourceContents::text(body.to_string(), uri).with_mime_type("application/json")
        }
    };
    Ok(ReadResourceResult::new(vec![contents]))
}

/// Prompts (the MRTR prompt included).
pub(super) fn prompts() -> Vec<Prompt> {
    vec![
        Prompt::new(
            "test_simple_prompt",
            Some("A simple prompt without arguments"),
            None,
        ),
        Prompt::new(
            "test_prompt_with_arguments",
            Some("A prompt with two arguments"),
            Some(vec![
                PromptArgument::new("arg1")
                    .with_description("First test argument")
                    .with_required(true),
                PromptArgument::new("arg2")
                    .with_description("Second test argument")
                    .with_required(false),
            ]),
        ),
        Prompt::new(
            "test_prompt_with_embedded_resource",
            Some("A prompt that embeds a resource"),
            None,
        ),
        Prompt::new(
            "test_prompt_with_image",
            Some("A prompt that includes an image"),
            None,
        ),
        Prompt::new(
            super::mrtr::PROMPT,
            Some("A prompt that first asks for context via InputRequiredResult (SEP-2322)"),
            None,
        ),
    ]
}

/// Builds one prompt.
pub(super) fn prompt(name: &str, args: Option<&JsonObject>) -> Result<GetPromptResult, ErrorData> {
    let arg = |k: &str| {
        args.and_then(|a| a.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    Ok(match name {
        "test_simple_prompt" => GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            "This is a simple test prompt.",
        )])
        .with_description("A simple test prompt"),
        "test_prompt_with_arguments" => GetPromptResult::new(vec![PromptMessage::new_text(
            Role::User,
            format!(
                "Prompt with arguments: arg1='{}', arg2='{}'",
                arg("arg1"),
                arg("arg2")
            ),
        )])
        .with_description("A prompt with arguments"),
        "test_prompt_with_embedded_resource" => GetPromptResult::new(vec![
            PromptMessage::new_text(Role::User, "Here is a resource:"),
            PromptMessage::new_resource(
                Role::User,
                "test://static-text".into(),
                Some("text/plain".into()),
                Some("Resource content for prompt".into()),
                None,
                None,
                None,
            ),
        ])
        .with_description("A prompt with an embedded resource"),
        "test_prompt_with_image" => GetPromptResult::new(vec![
            PromptMessage::new_text(Role::User, "Here is an image:"),
            PromptMessage::new(
                Role::User,
                ContentBlock::Image(ImageContent::new(PNG_1X1, "image/png")),
            ),
        ])
        .with_description("A prompt with an image"),
        other => {
            return Err(ErrorData::invalid_params(
                format!("unknown prompt: {other}"),
                None,
            ));
        }
    })
}

/// Completions for template and prompt arguments.
pub(super) fn complete(request: &CompleteRequestParams) -> Result<CompleteResult, ErrorData> {
    let arg = request.argument.name.as_str();
    let values: Vec<String> = match &request.r#ref {
        Reference::Resource(_) if arg == "id" => vec!["1".into(), "2".into(), "3".into()],
        Reference::Resource(_) => Vec::new(),
        Reference::Prompt(_) => match arg {
            "name" => vec!["Alice".into(), "Bob".into(), "Charlie".into()],
            "style" => vec!["friendly".into(), "formal".into(), "casual".into()],
            _ => vec!["value1".into(), "value2".into()],
        },
        #[allow(unreachable_patterns)]
        _ => Vec::new(),
    };
    let prefix = request.argument.value.as_str();
    let values = values
        .into_iter()
        .filter(|v| v.starts_with(prefix))
        .collect();
    let info = CompletionInfo::new(values).map_err(|e| ErrorData::internal_error(e, None))?;
    Ok(CompleteResult::new(info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_ids_are_substituted_and_unknown_uris_are_not_found() {
        let r = read("test://template/42/data").expect("template instance");
        let json = serde_json::to_value(&r).expect("serialize");
        assert!(json.to_string().contains("Data for ID: 42"), "{json}");
        assert!(read("test://template//data").is_err());
        assert!(read("test://nope").is_err());
    }
}
