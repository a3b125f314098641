import { type GraphQLSchema, isEnumType } from 'graphql';

/**
 * graphql-js's refusals of an enum value: unknown (`Value "HUMAN" does not exist in "MessageRole"
 * enum.`), a string written inline where the bare name belongs (`Enum "MessageRole" cannot
 * represent non-enum value: "USER".`), or a variable that is not a string. Either may end with
 * graphql-js's suggestions. The unknown value is the client's text and comes before the enum's
 * name, so that name is read from the end: a value cannot make the message name another enum.
 */
const unknownEnumValue = /" does not exist in "(\w+)" enum\.(?: Did you mean the enum value [\w", ]+\?)?$/;
const notAnEnumValue = /^Enum "(\w+)" cannot represent non-(enum|string) value: /;

/** A bare name written inline where text or an id belongs (`label: HUMAN`): GraphQL reads it as an enum value. */
const bareNameForText = new RegExp(
  '^(?:String cannot represent a non string value|ID cannot represent a non-string and non-integer value): ' +
    '([_A-Za-z]\\w*)$',
);

/**
 * A refusal of an input value, with what would have been accepted. graphql-js suggests a value
 * only when one is spelled alike ("Did you mean …?"), so `role: HUMAN` was refused without naming
 * ASSISTANT, SYSTEM, TOOL or USER. Other messages are returned as they are.
 */
export function withAllowedValues(schema: GraphQLSchema, message: string): string {
  const unknown = unknownEnumValue.exec(message);
  const notEnum = unknown ? null : notAnEnumValue.exec(message);
  const type = schema.getType(unknown?.[1] ?? notEnum?.[1] ?? '');
  if (isEnumType(type)) {
    const values = type
      .getValues()
      .map((value) => value.name)
      .join(', ');
    // Inline, a quoted value is a string: the enum's values are written bare.
    return notEnum?.[2] === 'enum'
      ? `${message} Allowed values, written without quotes: ${values}.`
      : `${message} Allowed values: ${values}.`;
  }
  const bare = bareNameForText.exec(message);
  if (bare) return `${message}. Write it in double quotes: "${bare[1]}".`;
  return message;
}
