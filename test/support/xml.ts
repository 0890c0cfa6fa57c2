// A small XML well-formedness scanner for the SVG charts netspec writes, without an XML parser dependency.

/**
 * A minimal XML well-formedness check: one root element, every tag closed in order, attributes quoted and not
 * repeated, no `<` in values, and every `&` starting a predefined or numeric entity. Returns the element names.
 */
export function wellFormedElements(xml: string): string[] {
  const elements: string[] = [];
  const open: string[] = [];
  const isNameCharacter = (c: string) =>
    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '-' || c === '_' || c === ':' || c === '.';
  const checkEntities = (text: string, where: string) => {
    for (let at = text.indexOf('&'); at !== -1; at = text.indexOf('&', at + 1)) {
      const end = text.indexOf(';', at);
      const entity = end === -1 ? '' : text.slice(at + 1, end);
      const known = ['amp', 'lt', 'gt', 'quot', 'apos'].includes(entity);
      const numeric = entity.startsWith('#') && entity.length > 1 && [...entity.slice(1)].every((c) => c >= '0' && c <= '9');
      if (!known && !numeric) throw new Error(`a bare & in ${where}: ${text.slice(at, at + 12)}`);
    }
  };
  let i = 0;
  while (i < xml.length) {
    const tagStart = xml.indexOf('<', i);
    const text = xml.slice(i, tagStart === -1 ? xml.length : tagStart);
    if (open.length === 0 && text.trim() !== '') throw new Error(`text outside the root element: ${text.trim().slice(0, 20)}`);
    checkEntities(text, 'text');
    if (tagStart === -1) break;
    i = tagStart + 1;
    const closing = xml[i] === '/';
    if (closing) i++;
    let name = '';
    while (i < xml.length && isNameCharacter(xml[i]!)) name += xml[i++];
    if (name === '') throw new Error(`a tag without a name at ${tagStart}`);
    const attributes = new Set<string>();
    for (;;) {
      while (xml[i] === ' ' || xml[i] === '\n') i++;
      if (xml[i] === '>' || xml.startsWith('/>', i)) break;
      if (closing) throw new Error(`attributes on closing tag </${name}>`);
      let attribute = '';
      while (i < xml.length && isNameCharacter(xml[i]!)) attribute += xml[i++];
      const quote = xml[i + 1];
      if (attribute === '' || xml[i] !== '=' || (quote !== '"' && quote !== "'")) throw new Error(`a malformed attribute in <${name}> at ${i}`);
      if (attributes.has(attribute)) throw new Error(`attribute ${attribute} repeated in <${name}>`);
      attributes.add(attribute);
      const valueEnd = xml.indexOf(quote, i + 2);
      if (valueEnd === -1) throw new Error(`an unterminated value of ${attribute} in <${name}>`);
      const value = xml.slice(i + 2, valueEnd);
      if (value.includes('<')) throw new Error(`a < in the value of ${attribute} in <${name}>`);
      checkEntities(value, `${name}.${attribute}`);
      i = valueEnd + 1;
    }
    const selfClosing = xml.startsWith('/>', i);
    i += selfClosing ? 2 : 1;
    if (closing) {
      const expected = open.pop();
      if (expected !== name) throw new Error(`</${name}> closes <${expected}>`);
      continue;
    }
    if (open.length === 0 && elements.length > 0) throw new Error(`a second root element <${name}>`);
    elements.push(name);
    if (!selfClosing) open.push(name);
  }
  if (open.length > 0) throw new Error(`unclosed elements: ${open.join(', ')}`);
  return elements;
}
