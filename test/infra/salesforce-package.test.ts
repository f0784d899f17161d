import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApexErrorListener,
  ApexLexer,
  ApexParserFactory,
  type ClassDeclarationContext,
  type ModifierContext,
} from '@apexdevtools/apex-parser';
import {
  errorBodySchema,
  errorCatalog,
  finalStatuses,
  salesforceResultTargetSchema,
  toolCallAcceptedSchema,
  toolCallRequestSchema,
  toolCallStatusSchema,
  toolCallViewSchema,
  writeBackTargetSchema,
} from '@mcp-broker/contracts';
import { DEFAULT_SOBJECTS, type FieldDefinition } from '@mcp-broker/salesforce-sandbox';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';

// Offline checks of the SFDX project in infra/salesforce. No org is reachable here: Apex is parsed
// (not compiled or run), metadata XML is read against the broker's contract, and the Salesforce
// CLI's own library converts the source to a deployable metadata folder.

const projectDir = fileURLToPath(new URL('../../infra/salesforce/', import.meta.url));
const sourceDir = join(projectDir, 'force-app/main/default');
const docsUrl = new URL('../../docs/salesforce.md', import.meta.url);
const METADATA_NS = 'http://soap.sforce.com/2006/04/metadata';
const API_VERSION = '62.0';

const read = (path: string) => readFileSync(path, 'utf8');
const filesUnder = (dir: string, suffix: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith(suffix))
    .map((file) => join(dir, file))
    .sort();

// ---------------------------------------------------------------------------------------------
// Metadata XML as a small element tree (order kept, entities decoded).

interface Element {
  name: string;
  attrs: Record<string, string>;
  children: Element[];
  text: string;
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const xmlParser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  ignoreDeclaration: true,
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
});

function toElements(nodes: OrderedNode[]): { elements: Element[]; text: string } {
  const elements: Element[] = [];
  const texts: string[] = [];
  for (const node of nodes) {
    if ('#text' in node) {
      texts.push(String(node['#text']));
      continue;
    }
    const name = Object.keys(node).find((key) => key !== ':@');
    if (name === undefined) continue;
    const inner = toElements(node[name] as OrderedNode[]);
    elements.push({ name, attrs: node[':@'] ?? {}, children: inner.elements, text: inner.text });
  }
  return { elements, text: texts.join('') };
}

function parseXml(source: string): Element {
  const roots = toElements(xmlParser.parse(source) as OrderedNode[]).elements;
  if (roots.length !== 1) throw new Error(`expected one root element, found ${roots.length}`);
  return roots[0]!;
}

const metadataCache = new Map<string, Element>();
/** A metadata file by its path under force-app/main/default. */
function metadata(path: string): Element {
  let element = metadataCache.get(path);
  if (!element) {
    element = parseXml(read(join(sourceDir, path)));
    metadataCache.set(path, element);
  }
  return element;
}

const kids = (element: Element, name: string) => element.children.filter((c) => c.name === name);
const kid = (element: Element, name: string) => kids(element, name)[0];
const textOf = (element: Element, name: string) => kid(element, name)?.text;

/** A child element's children as name → text (for flat records such as objectPermissions). */
const record = (element: Element): Record<string, string> =>
  Object.fromEntries(element.children.map((c) => [c.name, c.text]));

// ---------------------------------------------------------------------------------------------
// Apex: syntax errors from @apexdevtools/apex-parser, and an outline read from the parse tree.

interface ApexSyntaxError {
  line: number;
  column: number;
  message: string;
}

class CollectingErrorListener extends ApexErrorListener {
  readonly errors: ApexSyntaxError[] = [];
  apexSyntaxError(line: number, column: number, message: string): void {
    this.errors.push({ line, column, message: message.length > 160 ? `${message.slice(0, 160)}…` : message });
  }
}

/** Parses a class (or a trigger) and returns every lexer and parser error. */
function apexSyntaxErrors(source: string, unit: 'class' | 'trigger' = 'class'): ApexSyntaxError[] {
  const listener = new CollectingErrorListener();
  const { parser } = ApexParserFactory.createLexerAndParser(source, listener);
  if (unit === 'class') parser.compilationUnit();
  else parser.triggerUnit();
  return listener.errors;
}

interface Annotation {
  name: string;
  values: Record<string, string>;
}

interface ApexMember {
  kind: 'method' | 'constructor' | 'field' | 'property' | 'class' | 'other';
  name: string;
  annotations: Annotation[];
  keywords: string[];
  /** Return type (methods) or declared type (fields, properties). */
  type?: string;
  parameters?: string[];
  /** Fields: the initializer's string literals, decoded and joined (a constant built with `+`). */
  stringValue?: string;
  /** Fields: the initializer as written (tokens without whitespace). */
  initializer?: string;
}

interface ApexClass {
  name: string;
  annotations: Annotation[];
  keywords: string[];
  extends?: string;
  implements: string[];
  members: ApexMember[];
  inner: ApexClass[];
}

/** Duck-typed view of antlr4 parse-tree nodes (antlr4 itself is a nested dependency of the parser). */
interface TreeNode {
  children?: TreeNode[] | null;
  symbol?: { type: number; text: string };
}

/** An Apex string literal's value: quotes removed and escapes decoded. */
function apexString(literal: string): string {
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };
  return literal.slice(1, -1).replace(/\\(.)/g, (_, c: string) => escapes[c] ?? c);
}

function stringLiterals(node: TreeNode): string[] {
  if (node.symbol) return node.symbol.type === ApexLexer.StringLiteral ? [apexString(node.symbol.text)] : [];
  return (node.children ?? []).flatMap(stringLiterals);
}

function annotationsAndKeywords(modifiers: ModifierContext[]): { annotations: Annotation[]; keywords: string[] } {
  const annotations: Annotation[] = [];
  const keywords: string[] = [];
  for (const modifier of modifiers) {
    const annotation = modifier.annotation();
    if (!annotation) {
      keywords.push(modifier.getText().toLowerCase());
      continue;
    }
    const values: Record<string, string> = {};
    for (const pair of annotation.elementValuePairs()?.elementValuePair_list() ?? []) {
      const literal = pair.elementValue().getText();
      values[pair.id().getText()] = literal.startsWith("'") ? apexString(literal) : literal;
    }
    annotations.push({ name: annotation.id().getText(), values });
  }
  return { annotations, keywords };
}

function outlineClass(declaration: ClassDeclarationContext, modifiers: ModifierContext[]): ApexClass {
  const outline: ApexClass = {
    name: declaration.id().getText(),
    ...annotationsAndKeywords(modifiers),
    implements:
      declaration
        .typeList()
        ?.typeRef_list()
        .map((t) => t.getText()) ?? [],
    members: [],
    inner: [],
  };
  const extended = declaration.typeRef()?.getText();
  if (extended) outline.extends = extended;
  for (const body of declaration.classBody().classBodyDeclaration_list()) {
    const declared = body.memberDeclaration();
    if (!declared) continue;
    const common = annotationsAndKeywords(body.modifier_list());
    const method = declared.methodDeclaration();
    const field = declared.fieldDeclaration();
    const inner = declared.classDeclaration();
    if (method) {
      outline.members.push({
        kind: 'method',
        name: method.id().getText(),
        ...common,
        type: method.typeRef()?.getText() ?? 'void',
        parameters:
          method
            .formalParameters()
            .formalParameterList()
            ?.formalParameter_list()
            .map((p) => p.getText()) ?? [],
      });
    } else if (field) {
      for (const variable of field.variableDeclarators().variableDeclarator_list()) {
        const initializer = variable.expression();
        const member: ApexMember = { kind: 'field', name: variable.id().getText(), ...common };
        member.type = field.typeRef().getText();
        if (initializer) {
          member.initializer = initializer.getText();
          const literals = stringLiterals(initializer as unknown as TreeNode);
          if (literals.length > 0) member.stringValue = literals.join('');
        }
        outline.members.push(member);
      }
    } else if (inner) {
      outline.inner.push(outlineClass(inner, body.modifier_list()));
      outline.members.push({ kind: 'class', name: inner.id().getText(), ...common });
    } else if (declared.constructorDeclaration()) {
      outline.members.push({ kind: 'constructor', name: outline.name, ...common });
    } else if (declared.propertyDeclaration()) {
      outline.members.push({ kind: 'property', name: declared.propertyDeclaration().id().getText(), ...common });
    } else {
      outline.members.push({ kind: 'other', name: declared.getText().slice(0, 40), ...common });
    }
  }
  return outline;
}

/** The outline of a top-level class. */
function outlineApex(source: string): ApexClass {
  const { parser } = ApexParserFactory.createLexerAndParser(source, new CollectingErrorListener());
  const type = parser.compilationUnit().typeDeclaration();
  const declaration = type.classDeclaration();
  if (!declaration) throw new Error('not a class');
  return outlineClass(declaration, type.modifier_list());
}

/** Every identifier token of an Apex source (comments and string literals excluded). */
function apexIdentifiers(source: string): string[] {
  const stream = ApexParserFactory.createTokenStream(source);
  stream.fill();
  return stream.tokens.filter((t) => t.type === ApexLexer.Identifier).map((t) => t.text);
}

const hasAnnotation = (item: { annotations: Annotation[] }, name: string) =>
  item.annotations.some((a) => a.name.toLowerCase() === name.toLowerCase());
const annotation = (item: { annotations: Annotation[] }, name: string) =>
  item.annotations.find((a) => a.name.toLowerCase() === name.toLowerCase());
const member = (outline: ApexClass, name: string) => outline.members.find((m) => m.name === name);
const innerClass = (outline: ApexClass, name: string) => outline.inner.find((c) => c.name === name);

const classFiles = filesUnder(sourceDir, '.cls');
const triggerFiles = filesUnder(sourceDir, '.trigger');
const apexSource = (name: string) => read(join(sourceDir, 'classes', `${name}.cls`));
const classNames = classFiles.map((file) => basename(file, '.cls'));
const outlines = new Map(classNames.map((name) => [name, outlineApex(apexSource(name))]));
const outlineOf = (name: string): ApexClass => {
  const outline = outlines.get(name);
  if (!outline) throw new Error(`no class ${name}`);
  return outline;
};
const testClassNames = classNames.filter((name) => hasAnnotation(outlineOf(name), 'IsTest'));
const productionClassNames = classNames.filter((name) => !testClassNames.includes(name));

// ---------------------------------------------------------------------------------------------
// The broker's contract for the org's objects (docs/salesforce.md; the connector reads and writes these).

interface FieldContract {
  type: 'Text' | 'LongTextArea' | 'Picklist' | 'DateTime' | 'Url' | 'Number';
  length?: number;
  /** Number fields: digits in all, and after the point. */
  precision?: number;
  scale?: number;
  required?: boolean;
  externalId?: boolean;
  unique?: boolean;
}

const contract: Record<string, Record<string, FieldContract>> = {
  MCP_Tool_Request__e: {
    Tool__c: { type: 'Text', length: 255, required: true },
    Arguments__c: { type: 'LongTextArea', length: 131072 },
    Record_Id__c: { type: 'Text', length: 18 },
    Request_Id__c: { type: 'Text', length: 255 },
    Write_Back__c: { type: 'LongTextArea', length: 32768 },
  },
  MCP_Tool_Result__e: {
    Request_Id__c: { type: 'Text', length: 255, required: true },
    Status__c: { type: 'Text', length: 255 },
    Tool__c: { type: 'Text', length: 255 },
    Result__c: { type: 'LongTextArea', length: 131072 },
    Error__c: { type: 'LongTextArea', length: 32768 },
    Record_Id__c: { type: 'Text', length: 18 },
  },
  // The batch summary the run publishes (shared/batch batch-runner.ts #publishSummary): run ids are
  // `br_` + 32 hex, schedule ids at most 63 characters, statuses a word.
  MCP_Batch_Run__e: {
    Run_Id__c: { type: 'Text', length: 64, required: true },
    Schedule__c: { type: 'Text', length: 64 },
    Status__c: { type: 'Text', length: 32 },
    Counts__c: { type: 'LongTextArea', length: 32768 },
    Errors__c: { type: 'LongTextArea', length: 32768 },
    Duration_Ms__c: { type: 'Number', precision: 18, scale: 0 },
  },
  MCP_Result__c: {
    Request_Id__c: { type: 'Text', length: 255, externalId: true, unique: true },
    Status__c: { type: 'Picklist' },
    Tool__c: { type: 'Text', length: 255 },
    Result__c: { type: 'LongTextArea', length: 131072 },
    Error__c: { type: 'LongTextArea', length: 32768 },
    Completed_At__c: { type: 'DateTime' },
    Related_Record_Id__c: { type: 'Text', length: 18 },
  },
  Opportunity: {
    Contract_URL__c: { type: 'Url' },
  },
};

/** The custom fields the package defines, by object. */
function packageFields(): Record<string, string[]> {
  const objectsDir = join(sourceDir, 'objects');
  return Object.fromEntries(
    readdirSync(objectsDir).map((object) => [
      object,
      filesUnder(join(objectsDir, object, 'fields'), '.field-meta.xml').map((f) => basename(f, '.field-meta.xml')),
    ]),
  );
}
const fieldsByObject = packageFields();
const field = (object: string, name: string) => metadata(`objects/${object}/fields/${name}.field-meta.xml`);
const isFieldOfPackage = (name: string) => Object.values(fieldsByObject).some((fields) => fields.includes(name));

// Metadata file suffix → the root element the Metadata API expects.
const rootBySuffix: Record<string, string> = {
  '.cls-meta.xml': 'ApexClass',
  '.trigger-meta.xml': 'ApexTrigger',
  '.object-meta.xml': 'CustomObject',
  '.field-meta.xml': 'CustomField',
  '.permissionset-meta.xml': 'PermissionSet',
  '.namedCredential-meta.xml': 'NamedCredential',
  '.externalCredential-meta.xml': 'ExternalCredential',
  '.labels-meta.xml': 'CustomLabels',
  '.flow-meta.xml': 'Flow',
};
const metaFiles = filesUnder(sourceDir, '-meta.xml');
const relativeName = (file: string) => relative(sourceDir, file);

/**
 * Children in the order Salesforce retrieves them (its XSD sequences): `fullName` first, then by
 * name. The Metadata API refuses an element out of place ("Element … invalid at this location").
 */
function outOfOrder(element: Element, path: string, recurse: boolean): string[] {
  const names = element.children.map((c) => c.name);
  const rank = (name: string) => (name === 'fullName' ? '' : name);
  const problems: string[] = [];
  for (let i = 1; i < names.length; i++) {
    if (rank(names[i - 1]!) > rank(names[i]!)) problems.push(`${path}: <${names[i]}> after <${names[i - 1]}>`);
  }
  if (recurse) {
    for (const child of element.children) problems.push(...outOfOrder(child, `${path}/${child.name}`, true));
  }
  return problems;
}

describe('the SFDX project', () => {
  const project = JSON.parse(read(join(projectDir, 'sfdx-project.json'))) as {
    packageDirectories: { path: string; default?: boolean }[];
    sourceApiVersion: string;
  };

  it('names exactly one default package directory, which exists and holds the source', () => {
    const defaults = project.packageDirectories.filter((d) => d.default);
    expect(defaults).toHaveLength(1);
    expect(readdirSync(join(projectDir, defaults[0]!.path, 'main/default')).sort()).toEqual(
      expect.arrayContaining(['classes', 'objects', 'permissionsets', 'namedCredentials', 'externalCredentials']),
    );
  });

  it('uses API version 62.0 for the project and every Apex class', () => {
    expect(project.sourceApiVersion).toBe(API_VERSION);
    for (const file of [...classFiles, ...triggerFiles]) {
      const meta = parseXml(read(`${file}-meta.xml`));
      expect(textOf(meta, 'apiVersion'), relativeName(file)).toBe(API_VERSION);
      expect(textOf(meta, 'status'), relativeName(file)).toBe('Active');
    }
  });

  it('has a scratch org definition that is valid JSON with an edition', () => {
    const scratch = JSON.parse(read(join(projectDir, 'config/project-scratch-def.json'))) as { edition?: string };
    expect(scratch.edition).toBe('Developer');
  });
});

describe('metadata XML', () => {
  it.each(metaFiles.map(relativeName))('%s is well-formed with the root element its suffix names', (file) => {
    const source = read(join(sourceDir, file));
    expect(XMLValidator.validate(source)).toBe(true);
    const root = metadata(file);
    const suffix = Object.keys(rootBySuffix).find((s) => file.endsWith(s));
    expect(suffix, `a known metadata suffix for ${file}`).toBeDefined();
    expect(root.name).toBe(rootBySuffix[suffix!]);
    expect(root.attrs.xmlns).toBe(METADATA_NS);
  });

  it('lists every element in the order Salesforce retrieves it (fullName first, then by name)', () => {
    const problems = metaFiles.flatMap((file) =>
      // A Flow's elements start with name/label/location (inherited), so only its top level is sorted.
      outOfOrder(metadata(relativeName(file)), relativeName(file), !file.endsWith('.flow-meta.xml')),
    );
    expect(problems).toEqual([]);
  });

  it('the order check catches a misplaced element', () => {
    const misplaced = parseXml(
      `<CustomField xmlns="${METADATA_NS}"><fullName>X__c</fullName><type>Text</type><label>X</label></CustomField>`,
    );
    expect(outOfOrder(misplaced, 'X', true)).toEqual(['X: <label> after <type>']);
  });
});

describe('objects and fields', () => {
  it.each(['MCP_Tool_Request__e', 'MCP_Tool_Result__e', 'MCP_Batch_Run__e'])(
    '%s is a high-volume platform event published after commit',
    (name) => {
      const event = metadata(`objects/${name}/${name}.object-meta.xml`);
      expect(textOf(event, 'eventType')).toBe('HighVolume');
      expect(textOf(event, 'publishBehavior')).toBe('PublishAfterCommit');
      expect(textOf(event, 'deploymentStatus')).toBe('Deployed');
    },
  );

  it('MCP_Batch_Run__e has exactly the fields the batch run publishes in its summary event', () => {
    // The summary is built in one place, BatchRunner's #publishSummary: `conn.sobject(target.event).create({ … })`.
    const runner = read(fileURLToPath(new URL('../../shared/batch/src/batch-runner.ts', import.meta.url)));
    const published = /sobject\(target\.event\)\.create\(\{([^}]*)\}\)/.exec(runner)?.[1];
    expect(published, 'the summary event publish in batch-runner.ts').toBeDefined();
    const keys = [...published!.matchAll(/(\w+__c):/g)].map((m) => m[1]);
    expect(keys.sort()).toEqual(Object.keys(contract.MCP_Batch_Run__e!).sort());
  });

  it('defines exactly the custom fields of the contract, on each object', () => {
    expect(Object.keys(fieldsByObject).sort()).toEqual(Object.keys(contract).sort());
    for (const [object, fields] of Object.entries(contract)) {
      expect(fieldsByObject[object]?.sort(), object).toEqual(Object.keys(fields).sort());
    }
  });

  const contractFields = Object.entries(contract).flatMap(([object, fields]) =>
    Object.entries(fields).map(([name, spec]) => ({ field: `${object}.${name}`, object, name, spec })),
  );
  it.each(contractFields)('$field has the contract type, length and flags', ({ object, name, spec }) => {
    const definition = field(object, name);
    expect(textOf(definition, 'fullName')).toBe(name);
    expect(textOf(definition, 'type')).toBe(spec.type);
    expect(textOf(definition, 'length')).toBe(spec.length === undefined ? undefined : String(spec.length));
    expect(textOf(definition, 'precision')).toBe(spec.precision === undefined ? undefined : String(spec.precision));
    expect(textOf(definition, 'scale')).toBe(spec.scale === undefined ? undefined : String(spec.scale));
    expect(textOf(definition, 'required') === 'true').toBe(spec.required ?? false);
    expect(textOf(definition, 'externalId') === 'true').toBe(spec.externalId ?? false);
    expect(textOf(definition, 'unique') === 'true').toBe(spec.unique ?? false);
    if (spec.type === 'LongTextArea') expect(Number(textOf(definition, 'visibleLines'))).toBeGreaterThan(0);
    expect(textOf(definition, 'label')?.length ?? 0).toBeGreaterThan(0);
    expect(textOf(definition, 'description')?.length ?? 0).toBeLessThanOrEqual(1000);
  });

  it('keys MCP_Result__c on a case-sensitive unique external id, as the broker upserts it', () => {
    const requestId = field('MCP_Result__c', 'Request_Id__c');
    expect(textOf(requestId, 'caseSensitive')).toBe('true');
  });

  it("restricts MCP_Result__c.Status__c to the broker's call statuses, as API values", () => {
    const valueSet = kid(field('MCP_Result__c', 'Status__c'), 'valueSet')!;
    expect(textOf(valueSet, 'restricted')).toBe('true');
    const values = kids(kid(valueSet, 'valueSetDefinition')!, 'value').map(record);
    expect(values.map((v) => v.fullName)).toEqual([...toolCallStatusSchema.options]);
    for (const value of values) expect(value.label).toBe(value.fullName);
    expect(values.every((v) => v.default === 'false')).toBe(true);
    expect(finalStatuses.every((s) => values.some((v) => v.fullName === s))).toBe(true);
  });

  it('makes MCP_Result__c readable to the users who asked (Public Read Only), with an auto-number name', () => {
    const result = metadata('objects/MCP_Result__c/MCP_Result__c.object-meta.xml');
    expect(textOf(result, 'sharingModel')).toBe('Read');
    expect(textOf(kid(result, 'nameField')!, 'type')).toBe('AutoNumber');
    expect(textOf(result, 'deploymentStatus')).toBe('Deployed');
  });

  // The sandbox org the connector's tests run against declares the same objects; they must not drift.
  const sandboxType: Record<FieldContract['type'], NonNullable<FieldDefinition['type']>> = {
    Text: 'string',
    LongTextArea: 'textarea',
    Picklist: 'picklist',
    DateTime: 'datetime',
    Url: 'url',
    Number: 'double',
  };
  it.each(Object.keys(contract))('%s matches the Salesforce sandbox the broker is tested against', (object) => {
    const sandbox = DEFAULT_SOBJECTS[object];
    expect(sandbox, `the sandbox knows ${object}`).toBeDefined();
    const sandboxCustom = Object.keys(sandbox!.fields).filter((name) => name.endsWith('__c'));
    expect(sandboxCustom.sort()).toEqual([...(fieldsByObject[object] ?? [])].sort());
    for (const name of sandboxCustom) {
      const mine = field(object, name);
      const theirs = sandbox!.fields[name]!;
      const type = textOf(mine, 'type') as FieldContract['type'];
      expect(theirs.type ?? 'string', `${object}.${name} type`).toBe(sandboxType[type]);
      // URL and picklist fields are 255 long by the platform; their metadata has no length.
      const length = type === 'Url' || type === 'Picklist' ? '255' : textOf(mine, 'length');
      if (theirs.length !== undefined) expect(length, `${object}.${name} length`).toBe(String(theirs.length));
      expect(textOf(mine, 'required') === 'true', `${object}.${name} required`).toBe(theirs.required ?? false);
      expect(textOf(mine, 'externalId') === 'true', `${object}.${name} externalId`).toBe(theirs.externalId ?? false);
    }
  });
});

describe('permission sets', () => {
  const integration = metadata('permissionsets/MCP_Broker_Integration.permissionset-meta.xml');
  const user = metadata('permissionsets/MCP_Broker_User.permissionset-meta.xml');
  const objectAccess = (set: Element) =>
    Object.fromEntries(
      kids(set, 'objectPermissions').map((p) => {
        const r = record(p);
        const granted = (
          ['allowRead', 'allowCreate', 'allowEdit', 'allowDelete', 'viewAllRecords', 'modifyAllRecords'] as const
        )
          .filter((key) => r[key] === 'true')
          .map((key) =>
            key
              .replace(/^allow/, '')
              .replace('Records', '')
              .toLowerCase(),
          );
        return [r.object!, granted];
      }),
    );
  const fieldAccess = (set: Element) =>
    Object.fromEntries(
      kids(set, 'fieldPermissions').map((p) => {
        const r = record(p);
        return [r.field!, r.editable === 'true' ? 'edit' : r.readable === 'true' ? 'read' : 'none'];
      }),
    );
  const resultFields = Object.keys(contract.MCP_Result__c!).map((name) => `MCP_Result__c.${name}`);

  it('lets the integration user subscribe to requests, publish results, upsert MCP_Result__c and set Contract_URL__c', () => {
    expect(objectAccess(integration)).toEqual({
      Account: ['read'],
      MCP_Result__c: ['read', 'create', 'edit'],
      MCP_Batch_Run__e: ['create'],
      MCP_Tool_Request__e: ['read'],
      MCP_Tool_Result__e: ['create'],
      Opportunity: ['read', 'edit'],
    });
    expect(fieldAccess(integration)).toEqual(
      Object.fromEntries([...resultFields, 'Opportunity.Contract_URL__c'].map((f) => [f, 'edit'])),
    );
    expect(kids(integration, 'userPermissions').map(record)).toEqual([{ enabled: 'true', name: 'ApiEnabled' }]);
  });

  it("lets users call the broker through the Named Credential's principal, run the classes and read results", () => {
    expect(objectAccess(user)).toEqual({
      MCP_Batch_Run__e: ['read'],
      MCP_Result__c: ['read'],
      MCP_Tool_Request__e: ['create'],
      MCP_Tool_Result__e: ['read'],
    });
    expect(fieldAccess(user)).toEqual(Object.fromEntries(resultFields.map((f) => [f, 'read'])));
    const classes = kids(user, 'classAccesses').map(record);
    expect(classes.every((c) => c.enabled === 'true')).toBe(true);
    expect(classes.map((c) => c.apexClass).sort()).toEqual([...productionClassNames].sort());
  });

  it('grants the External Credential principal that exists, named <credential>-<principal>', () => {
    const credential = metadata('externalCredentials/MCP_Broker.externalCredential-meta.xml');
    const principals = kids(credential, 'externalCredentialParameters')
      .map(record)
      .filter((p) => p.parameterType === 'NamedPrincipal')
      .map((p) => `MCP_Broker-${p.parameterName}`);
    const granted = kids(user, 'externalCredentialPrincipalAccesses').map(record);
    expect(granted).toEqual([{ enabled: 'true', externalCredentialPrincipal: principals[0] }]);
    expect(principals).toHaveLength(1);
    expect(kids(integration, 'externalCredentialPrincipalAccesses')).toEqual([]);
  });

  it('never grants delete, view all or modify all', () => {
    for (const set of [integration, user]) {
      for (const access of Object.values(objectAccess(set))) {
        expect(access).not.toContain('delete');
        expect(access).not.toContain('viewall');
        expect(access).not.toContain('modifyall');
      }
    }
  });

  it('names only objects and fields that exist, and no required field (Salesforce refuses FLS on those)', () => {
    const standardObjects = new Set(['Account', 'Opportunity']);
    for (const set of [integration, user]) {
      for (const object of Object.keys(objectAccess(set))) {
        expect(standardObjects.has(object) || object in fieldsByObject, object).toBe(true);
      }
      for (const qualified of Object.keys(fieldAccess(set))) {
        const [object, name] = qualified.split('.') as [string, string];
        expect(fieldsByObject[object], qualified).toContain(name);
        expect(textOf(field(object, name), 'required'), qualified).not.toBe('true');
      }
      expect(textOf(set, 'description')?.length ?? 0).toBeLessThanOrEqual(255);
    }
  });
});

describe('Named Credential and External Credential', () => {
  const named = metadata('namedCredentials/MCP_Broker.namedCredential-meta.xml');
  const external = metadata('externalCredentials/MCP_Broker.externalCredential-meta.xml');
  const parameters = (element: Element, name: string) => kids(element, name).map(record);

  it('MCP_Broker is a secured endpoint with an https URL, authenticated by the MCP_Broker External Credential', () => {
    expect(textOf(named, 'namedCredentialType')).toBe('SecuredEndpoint');
    expect(textOf(named, 'calloutStatus')).toBe('Enabled');
    const byType = Object.fromEntries(parameters(named, 'namedCredentialParameters').map((p) => [p.parameterType, p]));
    expect(new URL(byType.Url!.parameterValue!).protocol).toBe('https:');
    expect(byType.Authentication!.externalCredential).toBe('MCP_Broker');
    expect(kid(named, 'endpoint'), 'the legacy <endpoint> is not used by a SecuredEndpoint').toBeUndefined();
  });

  it("sends Authorization: Basic built from the named principal's Username and Password", () => {
    expect(textOf(external, 'authenticationProtocol')).toBe('Custom');
    const header = parameters(external, 'externalCredentialParameters').find((p) => p.parameterType === 'AuthHeader');
    expect(header?.parameterName).toBe('Authorization');
    expect(header?.parameterValue).toBe(
      "{!'Basic ' & BASE64ENCODE(BLOB($Credential.MCP_Broker.Username & ':' & $Credential.MCP_Broker.Password))}",
    );
    // The formula names this External Credential, and the Apex calls go through the Named Credential.
    expect(member(outlineOf('McpBrokerClient'), 'NAMED_CREDENTIAL')?.stringValue).toBe('MCP_Broker');
  });

  it('holds no secret: only a principal and a header formula, no password or client secret anywhere', () => {
    const types = parameters(external, 'externalCredentialParameters').map((p) => p.parameterType);
    expect(types.sort()).toEqual(['AuthHeader', 'NamedPrincipal']);
    for (const file of metaFiles) {
      expect(read(file), relativeName(file)).not.toMatch(/<(password|clientSecret|consumerSecret|privateKey)>/i);
    }
    expect(read(join(sourceDir, 'classes/McpBrokerClient.cls'))).not.toMatch(/Authorization/);
  });
});

describe('Apex', () => {
  it.each([...classFiles, ...triggerFiles].map(relativeName))('%s parses without a syntax error', (file) => {
    expect(apexSyntaxErrors(read(join(sourceDir, file)), file.endsWith('.trigger') ? 'trigger' : 'class')).toEqual([]);
  });

  it('the syntax check reports broken Apex, with its line', () => {
    const missingExpression = 'public class Broken {\n  void run() {\n    Integer a = ;\n  }\n}';
    expect(apexSyntaxErrors(missingExpression)).toEqual([expect.objectContaining({ line: 3 })]);
    const unclosed =
      'public with sharing class Unclosed implements Queueable {\n  public void execute(QueueableContext c) {\n';
    expect(apexSyntaxErrors(unclosed).length).toBeGreaterThan(0);
    const badTrigger = 'trigger T on Opportunity (after sideways) { }';
    expect(apexSyntaxErrors(badTrigger, 'trigger').length).toBeGreaterThan(0);
    // Lexer errors count too: an unterminated string literal.
    expect(apexSyntaxErrors("public class S { String s = 'open; }").length).toBeGreaterThan(0);
  });

  it('the Queueable implements Queueable and Database.AllowsCallouts (no callout after DML in the caller)', () => {
    const queueable = outlineOf('McpToolCallQueueable');
    expect(queueable.implements.map((t) => t.toLowerCase()).sort()).toEqual(['database.allowscallouts', 'queueable']);
    const execute = member(queueable, 'execute');
    expect(execute?.parameters).toEqual(['QueueableContextcontext']);
    expect(apexSource('McpToolCallQueueable')).toMatch(/System\.enqueueJob\(next, delayMinutes\)/);
  });

  it('the action has one @InvocableMethod "Call MCP Tool (async)" from List<Request> to List<Response>', () => {
    const action = outlineOf('McpInvokeToolAction');
    const invocable = action.members.filter((m) => hasAnnotation(m, 'InvocableMethod'));
    expect(invocable).toHaveLength(1);
    expect(invocable[0]!.keywords).toEqual(expect.arrayContaining(['public', 'static']));
    expect(annotation(invocable[0]!, 'InvocableMethod')?.values.label).toBe('Call MCP Tool (async)');
    expect(invocable[0]!.type).toBe('List<Response>');
    expect(invocable[0]!.parameters).toEqual(['List<Request>requests']);

    const inputs = innerClass(action, 'Request')!.members.filter((m) => hasAnnotation(m, 'InvocableVariable'));
    expect(inputs.map((m) => m.name)).toEqual([
      'tool',
      'argumentsJson',
      'recordId',
      'writeBack',
      'writeBackJson',
      'requestId',
      'brokerOrg',
    ]);
    expect(
      inputs.filter((m) => annotation(m, 'InvocableVariable')?.values.required === 'true').map((m) => m.name),
    ).toEqual(['tool']);
    const outputs = innerClass(action, 'Response')!.members.filter((m) => hasAnnotation(m, 'InvocableVariable'));
    expect(outputs.map((m) => m.name)).toEqual(['requestId', 'jobId']);
    for (const variable of [...inputs, ...outputs]) {
      expect(annotation(variable, 'InvocableVariable')?.values.description?.length ?? 0).toBeLessThanOrEqual(255);
    }
  });

  it('the action enqueues the Queueable and makes no callout itself', () => {
    const source = apexSource('McpInvokeToolAction');
    expect(source).toMatch(/System\.enqueueJob\(new McpToolCallQueueable\(calls\)\)/);
    expect(source).not.toMatch(/new Http\(\)|HttpRequest/);
  });

  it("the client's endpoint, key limit and wait limit are the broker's", () => {
    const client = outlineOf('McpBrokerClient');
    expect(member(client, 'TOOL_CALLS_PATH')?.stringValue).toBe('/v1/tool-calls');
    expect(member(client, 'MAX_WAIT_SECONDS')?.initializer).toBe('100');
    expect(member(client, 'MAX_IDEMPOTENCY_KEY_LENGTH')?.initializer).toBe(
      String(toolCallRequestSchema.shape.idempotencyKey.maxLength),
    );
    const source = apexSource('McpBrokerClient');
    expect(source).toContain("req.setHeader('Idempotency-Key', idempotencyKey);");
    expect(source).toContain("req.setMethod('POST');");
    expect(source).toContain("endpoint += '?wait=' + waitFor;");
    // Parses the broker's error envelope { error: { code, message, requestId, details? } }.
    for (const key of ['error', 'code', 'message', 'requestId', 'details']) expect(source).toContain(`get('${key}')`);
    expect(Object.keys(errorBodySchema.shape.error.shape).sort()).toEqual(['code', 'details', 'message', 'requestId']);
    const exception = innerClass(client, 'McpBrokerException')!;
    expect(exception.extends).toBe('Exception');
    expect(exception.members.map((m) => m.name)).toEqual(
      expect.arrayContaining(['statusCode', 'code', 'brokerMessage', 'requestId', 'isRetryable']),
    );
  });

  it('test classes are @IsTest, their tests are @IsTest methods, and the callout tests use an HttpCalloutMock', () => {
    expect(testClassNames.sort()).toEqual([
      'McpBrokerClientTest',
      'McpBrokerHttpMock',
      'McpInvokeToolActionTest',
      'McpToolRequestPublisherTest',
    ]);
    for (const name of testClassNames.filter((n) => n.endsWith('Test'))) {
      const tests = outlineOf(name).members.filter((m) => m.kind === 'method' && hasAnnotation(m, 'IsTest'));
      expect(tests.length, name).toBeGreaterThanOrEqual(3);
      for (const test of tests) expect(test.keywords, `${name}.${test.name}`).toContain('static');
    }
    expect(outlineOf('McpBrokerHttpMock').implements).toEqual(['HttpCalloutMock']);
    expect(member(outlineOf('McpBrokerHttpMock'), 'respond')?.parameters).toEqual(['HttpRequestreq']);
    for (const name of ['McpBrokerClientTest', 'McpInvokeToolActionTest']) {
      expect(apexSource(name), name).toContain('Test.setMock(HttpCalloutMock.class, ');
    }
  });

  it('the Apex tests cover a 202, a 4xx error body and the invocable → Queueable path', () => {
    const clientTest = apexSource('McpBrokerClientTest');
    expect(clientTest).toMatch(/\.answer\(202, McpBrokerHttpMock\.ACCEPTED_BODY\)/);
    expect(clientTest).toMatch(/\.answer\(4\d\d, McpBrokerHttpMock\.[A-Z_]+_BODY\)/);
    expect(clientTest).toContain('catch (McpBrokerClient.McpBrokerException e)');
    const actionTest = apexSource('McpInvokeToolActionTest');
    const between = /Test\.startTest\(\);([\s\S]*?)Test\.stopTest\(\);/.exec(actionTest)?.[1] ?? '';
    expect(between).toContain('McpInvokeToolAction.invoke(');
    expect(between).toContain('Assert.areEqual(0, mock.requests.size()');
  });

  it("the mock's canned broker answers match the broker's own response schemas", () => {
    const bodies = outlineOf('McpBrokerHttpMock').members.filter((m) => m.name.endsWith('_BODY'));
    expect(bodies.length).toBeGreaterThanOrEqual(4);
    for (const body of bodies) {
      const parsed = JSON.parse(body.stringValue ?? '') as Record<string, unknown>;
      if ('error' in parsed) {
        const error = errorBodySchema.parse(parsed).error;
        expect(errorCatalog[error.code as keyof typeof errorCatalog], `${body.name}: ${error.code}`).toBeDefined();
      } else if ('deliveries' in parsed) {
        toolCallViewSchema.parse(parsed);
      } else {
        toolCallAcceptedSchema.parse(parsed);
      }
    }
  });

  it('names only objects, fields and labels that the package defines', () => {
    const objects = new Set(Object.keys(fieldsByObject));
    const unknown = classNames.flatMap((name) =>
      apexIdentifiers(apexSource(name))
        .filter((id) => /__(c|e)$/i.test(id))
        .filter((id) => !objects.has(id) && !isFieldOfPackage(id))
        .map((id) => `${name}: ${id}`),
    );
    expect(unknown).toEqual([]);
    const labels = kids(metadata('labels/CustomLabels.labels-meta.xml'), 'labels').map((l) => textOf(l, 'fullName'));
    for (const name of classNames) {
      for (const [, label] of apexSource(name).matchAll(/System\.Label\.(\w+)/g)) expect(labels).toContain(label);
    }
  });

  it('the default broker org id in the MCP_Broker_Org label is a valid org id for write-back targets', () => {
    const label = kids(metadata('labels/CustomLabels.labels-meta.xml'), 'labels')
      .map(record)
      .find((l) => l.fullName === 'MCP_Broker_Org');
    expect(salesforceResultTargetSchema.safeParse({ type: 'salesforce-result', org: label?.value }).success).toBe(true);
  });
});

describe('the Closed Won Flow', () => {
  const flow = metadata('flows/MCP_Generate_Contract_On_Closed_Won.flow-meta.xml');
  const start = kid(flow, 'start')!;
  const create = kid(flow, 'recordCreates')!;
  const assignments = Object.fromEntries(
    kids(create, 'inputAssignments').map((a) => [textOf(a, 'field')!, kid(a, 'value')!.children[0]!]),
  );
  const formula = (name: string) =>
    kids(flow, 'formulas').find((f) => textOf(f, 'name') === name) ?? expect.fail(`formula ${name}`);
  const template = (name: string) =>
    kids(flow, 'textTemplates').find((t) => textOf(t, 'name') === name) ?? expect.fail(`text template ${name}`);
  const sampleId = '0065g00000XyZaBAAV';

  /** Evaluates a Flow text formula made of 'literals' and {!merge fields} joined with &. */
  const evaluate = (expression: string, merge: Record<string, string>) =>
    expression
      .split('&')
      .map((part) => part.trim())
      .map((part) => (part.startsWith("'") ? part.slice(1, -1) : (merge[part] ?? expect.fail(`unknown ${part}`))))
      .join('');

  it('runs after save when an Opportunity becomes won', () => {
    expect(textOf(flow, 'processType')).toBe('AutoLaunchedFlow');
    expect(textOf(start, 'object')).toBe('Opportunity');
    expect(textOf(start, 'triggerType')).toBe('RecordAfterSave');
    expect(textOf(start, 'recordTriggerType')).toBe('CreateAndUpdate');
    expect(textOf(start, 'doesRequireRecordChangedToMeetCriteria')).toBe('true');
    const filters = kids(start, 'filters');
    expect(filters.map((f) => [textOf(f, 'field'), textOf(f, 'operator'), kid(f, 'value')?.children[0]?.text])).toEqual(
      [['IsWon', 'EqualTo', 'true']],
    );
    expect(textOf(kid(start, 'connector')!, 'targetReference')).toBe(textOf(create, 'name'));
    expect(textOf(flow, 'apiVersion')).toBe(API_VERSION);
  });

  it('publishes MCP_Tool_Request__e for generate_contract, setting only fields the event has', () => {
    expect(textOf(create, 'object')).toBe('MCP_Tool_Request__e');
    expect(Object.keys(assignments).sort()).toEqual(Object.keys(contract.MCP_Tool_Request__e!).sort());
    expect(assignments.Tool__c).toMatchObject({ name: 'stringValue', text: 'generate_contract' });
    expect(assignments.Record_Id__c).toMatchObject({ name: 'elementReference', text: '$Record.Id' });
    for (const value of Object.values(assignments).filter((v) => v.name === 'elementReference')) {
      if (value.text.startsWith('$')) continue;
      const defined = [...kids(flow, 'formulas'), ...kids(flow, 'textTemplates')].map((r) => textOf(r, 'name'));
      expect(defined, value.text).toContain(value.text);
    }
  });

  it('builds a JSON object of arguments and a request id of at most 255 characters', () => {
    const merge = { '{!$Record.Id}': sampleId };
    expect(JSON.parse(evaluate(textOf(formula('ArgumentsJson'), 'expression')!, merge))).toEqual({
      opportunity_id: sampleId,
    });
    const requestId = evaluate(textOf(formula('RequestId'), 'expression')!, merge);
    expect(requestId).toBe(`opp-${sampleId}-generate-contract-v1`);
    expect(requestId.length).toBeLessThanOrEqual(255);
  });

  it("writes Contract_URL__c, an MCP_Result__c and an MCP_Tool_Result__e, each valid once the broker's defaults apply", () => {
    const targets = JSON.parse(textOf(template('WriteBackJson'), 'text')!) as Record<string, unknown>[];
    expect(targets.map((t) => t.type)).toEqual(['salesforce-record', 'salesforce-result', 'salesforce-event']);
    expect(targets[0]).toMatchObject({ sobject: 'Opportunity', fields: { Contract_URL__c: 'structuredContent.url' } });
    // On the event path the org is implied and recordId/relatedRecordId/requestId come from the event.
    const requestId = `opp-${sampleId}-generate-contract-v1`;
    for (const target of targets) {
      const filled =
        target.type === 'salesforce-record'
          ? { org: 'salesforce-prod', recordId: sampleId, ...target }
          : { org: 'salesforce-prod', relatedRecordId: sampleId, requestId, ...target };
      expect(writeBackTargetSchema.safeParse(filled).error).toBeUndefined();
    }
    expect(textOf(template('WriteBackJson'), 'text')!.length).toBeLessThanOrEqual(32768);
  });

  it('is deployed as a draft, to be activated once the broker is connected', () => {
    expect(textOf(flow, 'status')).toBe('Draft');
    expect(textOf(flow, 'description')?.length ?? 0).toBeLessThanOrEqual(255);
  });
});

describe('offline conversion with @salesforce/source-deploy-retrieve', () => {
  const outputDir = mkdtempSync(join(tmpdir(), 'mcp-broker-sfdx-'));
  afterAll(() => rmSync(outputDir, { recursive: true, force: true }));

  it('converts the source to a metadata-format folder whose package.xml lists every component', async () => {
    // @salesforce/core would otherwise write a log file under the home directory.
    process.env.SF_DISABLE_LOG_FILE = 'true';
    const { ComponentSet, MetadataConverter } = await import('@salesforce/source-deploy-retrieve');
    const components = ComponentSet.fromSource(join(projectDir, 'force-app'));
    components.sourceApiVersion = API_VERSION;
    const result = await new MetadataConverter().convert(components, 'metadata', {
      type: 'directory',
      outputDirectory: outputDir,
      genUniqueDir: false,
    });
    expect(result.packagePath).toBe(outputDir);

    const manifest = parseXml(read(join(outputDir, 'package.xml')));
    expect(manifest.name).toBe('Package');
    expect(textOf(manifest, 'version')).toBe(API_VERSION);
    const members = Object.fromEntries(
      kids(manifest, 'types').map((t) => [textOf(t, 'name')!, kids(t, 'members').map((m) => m.text)]),
    );
    expect(members).toEqual({
      ApexClass: [...classNames].sort(),
      CustomField: Object.entries(contract)
        .flatMap(([object, fields]) => Object.keys(fields).map((name) => `${object}.${name}`))
        .sort(),
      CustomLabel: ['MCP_Broker_Org'],
      CustomLabels: ['CustomLabels'],
      CustomObject: ['MCP_Batch_Run__e', 'MCP_Result__c', 'MCP_Tool_Request__e', 'MCP_Tool_Result__e'],
      ExternalCredential: ['MCP_Broker'],
      Flow: ['MCP_Generate_Contract_On_Closed_Won'],
      NamedCredential: ['MCP_Broker'],
      PermissionSet: ['MCP_Broker_Integration', 'MCP_Broker_User'],
    });

    // Decomposed source becomes one .object file per object, with its fields inside.
    const result__c = parseXml(read(join(outputDir, 'objects/MCP_Result__c.object')));
    expect(
      kids(result__c, 'fields')
        .map((f) => textOf(f, 'fullName'))
        .sort(),
    ).toEqual(Object.keys(contract.MCP_Result__c!).sort());
    expect(read(join(outputDir, 'classes/McpToolCallQueueable.cls'))).toBe(apexSource('McpToolCallQueueable'));
  });
});

describe('documentation', () => {
  it('docs/salesforce.md names what the package deploys and leaves the connector sections to be written', () => {
    const docs = readFileSync(docsUrl, 'utf8');
    for (const name of [
      'MCP_Tool_Request__e',
      'MCP_Tool_Result__e',
      'MCP_Result__c',
      'Contract_URL__c',
      'MCP_Broker_Integration',
      'MCP_Broker_User',
      'MCP_Broker_Org',
      'Call MCP Tool (async)',
      'MCP_Generate_Contract_On_Closed_Won',
      'sf project deploy start',
    ]) {
      expect(docs, name).toContain(name);
    }
    expect(docs).toContain('## Setting up the org');
    expect(docs).toContain('## The broker side: configuration');
    expect(docs).toContain('## How events are processed');
  });

  it('the package README says what was checked offline and what was not run', () => {
    const readme = read(join(projectDir, 'README.md'));
    expect(readme).toContain('sf project deploy start');
    expect(readme).toMatch(/not run/i);
    expect(readme).toContain('test/infra/salesforce-package.test.ts');
  });
});
