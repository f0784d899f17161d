/** Word lists the generator draws names and texts from. Changing any list changes every data set. */

export const companyPrefixes = [
  'Northwind',
  'Contoso',
  'Fabrikam',
  'Tailspin',
  'Litware',
  'Adventure',
  'Blue Yonder',
  'Coho',
  'Alpine',
  'Proseware',
  'Wingtip',
  'Woodgrove',
  'Lucerne',
  'Margie',
  'Trey',
  'Humongous',
  'Wide World',
  'Graphic',
  'Southridge',
  'Fourth Coffee',
  'Relecloud',
  'Datum',
  'Bellows',
  'Consolidated',
  'Lakeshore',
  'Silver Birch',
  'Redwood',
  'Harbor',
  'Summit',
  'Iron Gate',
] as const;

export const companyNouns = [
  'Analytics',
  'Systems',
  'Logistics',
  'Foods',
  'Health',
  'Energy',
  'Motors',
  'Airlines',
  'Insurance',
  'Bank',
  'Retail',
  'Pharma',
  'Media',
  'Telecom',
  'Robotics',
  'Textiles',
  'Chemicals',
  'Capital',
  'Labs',
  'Networks',
] as const;

export const companySuffixes = [
  'Inc.',
  'Ltd',
  'GmbH',
  'S.A.',
  'Group',
  'Holdings',
  'Corp.',
  'AG',
  'KK',
  'Pty Ltd',
] as const;

export const industries = [
  'financial services',
  'healthcare',
  'manufacturing',
  'retail',
  'technology',
  'energy',
  'transportation',
  'telecommunications',
  'public sector',
  'media',
  'education',
  'hospitality',
] as const;

export const mailboxes = ['contact', 'procurement', 'it', 'finance', 'operations', 'sales'] as const;

export const divisions = [
  'Headquarters',
  'Operations',
  'Finance',
  'IT',
  'Research',
  'Manufacturing',
  'Sales',
  'Logistics',
  'Customer Service',
  'Digital',
] as const;

export const dealKinds = ['New business', 'Expansion', 'Renewal', 'Upgrade', 'Pilot', 'Migration'] as const;

export const caseSubjectTemplates = [
  '{product}: cannot log in',
  '{product}: slow response times',
  '{product}: invoice does not match order',
  '{product}: licence key rejected',
  '{product}: data export fails',
  '{product}: integration returns errors',
  '{product}: request for training material',
  '{product}: feature request',
  '{product}: outage reported by users',
  '{product}: configuration question',
] as const;
