import { createHash } from 'node:crypto';
import { generateSampleData, productCatalogue } from '@mcp-broker/sample-data';
import { describe, expect, it } from 'vitest';
import {
  CONTRACT_CONTENT_SECURITY_POLICY,
  type ContractData,
  escapeHtml,
  escapeMarkdown,
  renderContract,
} from './contract-renderer.ts';

const data = generateSampleData({ seed: 5, customers: 30 });

function contractData(
  pick: (o: ContractData['opportunity']) => boolean = (o) => o.productIds.length > 1,
): ContractData {
  const opportunity = data.opportunities.find(pick)!;
  return {
    opportunity,
    customer: data.customers.find((c) => c.id === opportunity.customerId)!,
    account: data.accounts.find((a) => a.id === opportunity.accountId)!,
    products: opportunity.productIds.map((id) => productCatalogue.find((p) => p.id === id)!),
  };
}

const usd = (n: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(n);
const XSS = '<script>alert(1)</script>';
const ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>';

describe('renderContract', () => {
  it('names the customer, account, contract value and every product in both formats', () => {
    const input = contractData();
    const { markdown, html, title, fileName } = renderContract(input, 'standard');
    expect(title).toBe(`Subscription Agreement: ${input.customer.name}`);
    expect(fileName).toBe(`contract-${input.opportunity.id}-standard`);
    for (const text of [markdown, html]) {
      expect(text).toContain(escapeHtml(input.customer.name));
      expect(text).toContain(input.account.id);
      expect(text).toContain(input.opportunity.id);
      expect(text).toContain(usd(input.opportunity.amount).replace('$', ''));
      for (const product of input.products) {
        expect(text).toContain(product.id);
        expect(text).toContain(escapeHtml(product.name));
        expect(text).toContain(usd(product.listPrice).replace('$', ''));
      }
    }
    expect(html).toContain(`<dd>${usd(input.opportunity.amount)}</dd>`);
    expect(markdown).toContain(`**Total contract value:** \\${usd(input.opportunity.amount)}`);
  });

  it('applies the template’s terms, the term ending the day before its anniversary', () => {
    const base = contractData();
    const input = { ...base, opportunity: { ...base.opportunity, closeDate: '2026-01-31' } };
    const standard = renderContract(input, 'standard').html;
    const enterprise = renderContract(input, 'enterprise').html;

    expect(standard).toContain('12 months, from 31 January 2026 to 30 January 2027');
    expect(standard).toContain('99.5 %');
    expect(standard).toContain('net 30 days');
    expect(standard).not.toContain('Data protection');

    expect(enterprise).toContain('<h1>Enterprise Master Services Agreement</h1>');
    expect(enterprise).toContain('36 months, from 31 January 2026 to 30 January 2029');
    expect(enterprise).toContain('99.9 %');
    expect(enterprise).toContain('net 45 days');
    expect(enterprise).toContain('Data protection');
    expect(enterprise).toContain('Security review');

    const leap = { ...base, opportunity: { ...base.opportunity, closeDate: '2024-02-29' } };
    expect(renderContract(leap, 'standard').html).toContain('from 29 February 2024 to 28 February 2025');
  });

  it('marks open opportunities as drafts', () => {
    const open = renderContract(
      contractData((o) => o.stage === 'proposal'),
      'standard',
    );
    const won = renderContract(
      contractData((o) => o.stage === 'closed_won'),
      'standard',
    );
    expect(open.html).toContain('Draft for review');
    expect(won.html).toContain('For signature: the opportunity is closed won.');
  });

  it('is deterministic', () => {
    const input = contractData();
    expect(renderContract(structuredClone(input), 'enterprise')).toEqual(renderContract(input, 'enterprise'));
  });

  it('escapes every data value in the HTML', () => {
    const input = contractData();
    const hostile: ContractData = {
      ...input,
      customer: { ...input.customer, name: XSS, industry: ATTRIBUTE_BREAK, email: 'a&b@example.com' },
      account: { ...input.account, name: `${XSS} & Co` },
      opportunity: { ...input.opportunity, name: `<b onmouseover='x'>deal</b>` },
      products: input.products.map((p) => ({ ...p, name: `${p.name}<iframe src=//evil>` })),
    };
    const { html, title } = renderContract(hostile, 'enterprise');
    expect(html).not.toMatch(/<script|<img|<iframe|<b |onmouseover='|onerror=alert\(1\)>/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;b onmouseover=&#39;x&#39;&gt;deal&lt;/b&gt;');
    expect(html).toContain('a&amp;b@example.com');
    expect(html).toContain(`<title>${escapeHtml(title)}</title>`);
    // Only the template's own elements remain: no tag the data could have added.
    const tags = new Set([...html.matchAll(/<\/?([a-z0-9]+)/gi)].map((m) => m[1]!.toLowerCase()));
    expect([...tags].sort()).toEqual(
      [
        'body',
        'dd',
        'dl',
        'dt',
        'h1',
        'h2',
        'head',
        'html',
        'meta',
        'p',
        'style',
        'table',
        'tbody',
        'td',
        'th',
        'thead',
        'title',
        'tr',
      ].sort(),
    );
  });

  it('escapes data in the Markdown so it cannot inject HTML, links or table cells', () => {
    const input = contractData();
    const hostile: ContractData = {
      ...input,
      customer: { ...input.customer, name: `${XSS} [click](https://evil.example) | x\n# heading` },
    };
    const { markdown } = renderContract(hostile, 'standard');
    expect(markdown).not.toContain('<script>');
    expect(markdown).not.toContain('[click]');
    expect(markdown).toContain('\\<script\\>alert(1)\\</script\\>');
    expect(markdown).toContain('\\[click\\](https://evil.example) \\| x # heading');
    expect(markdown.split('\n').filter((line) => line.startsWith('# '))).toHaveLength(1);
  });

  it('ships a CSP that allows exactly its own style sheet and nothing else', () => {
    const { html } = renderContract(contractData(), 'standard');
    const styles = [...html.matchAll(/<style>([^<]*)<\/style>/g)].map((m) => m[1]!);
    expect(styles).toHaveLength(1);
    const hash = createHash('sha256').update(styles[0]!).digest('base64');
    expect(CONTRACT_CONTENT_SECURITY_POLICY).toContain(`style-src 'sha256-${hash}'`);
    expect(CONTRACT_CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTRACT_CONTENT_SECURITY_POLICY).not.toMatch(/unsafe|script-src/);
    expect(html).not.toMatch(/ style=/);
  });

  it('escape helpers cover their syntax', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    expect(escapeMarkdown('*a* _b_ `c` ~d~ $e$ \\ & <f>\r\n| g')).toBe(
      '\\*a\\* \\_b\\_ \\`c\\` \\~d\\~ \\$e\\$ \\\\ \\& \\<f\\> \\| g',
    );
  });
});
