// Resolve the intrinsic functions of a packaged CloudFormation template, as CloudFormation would for one stack in one
// account and Region: Ref (to resources, pseudo parameters and the template's Parameters), Fn::GetAtt, Fn::Sub,
// Fn::Join, Fn::If (with the template's Conditions) and AWS::NoValue.
// Only the resource types roleguard declares are known; anything else throws, so a new kind is never guessed.

/** A packaged template, as osls writes it. */
export interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, any>; Condition?: string }>;
  Conditions?: Record<string, unknown>;
  Parameters?: Record<string, { Default?: string }>;
}

/** Where the stack is deployed. */
export interface Stack {
  region: string;
  accountId: string;
  partition?: string;
  /** The stack's parameter values (a parameter not given takes its Default). */
  parameters?: Record<string, string>;
}

const NO_VALUE = Symbol('AWS::NoValue');

/** Resolve every intrinsic function in `value`; AWS::NoValue items are dropped from lists and objects. */
export function resolve(template: Template, stack: Stack, value: unknown): any {
  const partition = stack.partition ?? 'aws';
  const ref = (name: string): unknown => {
    if (name === 'AWS::Partition') return partition;
    if (name === 'AWS::Region') return stack.region;
    if (name === 'AWS::AccountId') return stack.accountId;
    if (name === 'AWS::NoValue') return NO_VALUE;
    const parameter = template.Parameters?.[name];
    if (parameter) {
      const value = stack.parameters?.[name] ?? parameter.Default;
      if (value === undefined) throw new Error(`the parameter ${name} has no value and no default`);
      return value;
    }
    const resource = template.Resources[name];
    if (!resource) throw new Error(`Ref to an unknown resource ${name}`);
    const p = resource.Properties;
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
        return p.TableName;
      case 'AWS::SNS::Topic':
        return `arn:${partition}:sns:${stack.region}:${stack.accountId}:${p.TopicName}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${stack.region}.amazonaws.com/${stack.accountId}/${p.QueueName}`;
      case 'AWS::Lambda::Function':
        return p.FunctionName;
      case 'AWS::Events::EventBus':
        return p.Name;
      case 'AWS::IAM::Role':
        return p.RoleName ? walk(p.RoleName) : name;
      default:
        throw new Error(`Ref to ${name} (${resource.Type}) is not modelled`);
    }
  };
  const getAtt = (name: string, attribute: string): unknown => {
    const resource = template.Resources[name];
    if (!resource) throw new Error(`Fn::GetAtt of an unknown resource ${name}`);
    const p = resource.Properties;
    const arn: Record<string, () => string> = {
      'AWS::DynamoDB::Table': () => `arn:${partition}:dynamodb:${stack.region}:${stack.accountId}:table/${p.TableName}`,
      'AWS::SQS::Queue': () => `arn:${partition}:sqs:${stack.region}:${stack.accountId}:${p.QueueName}`,
      'AWS::SNS::Topic': () => `arn:${partition}:sns:${stack.region}:${stack.accountId}:${p.TopicName}`,
      'AWS::Lambda::Function': () =>
        `arn:${partition}:lambda:${stack.region}:${stack.accountId}:function:${p.FunctionName}`,
      // A rule on a custom bus has the bus's name in its ARN.
      'AWS::Events::Rule': () =>
        `arn:${partition}:events:${stack.region}:${stack.accountId}:rule/${p.EventBusName ? `${walk(p.EventBusName)}/` : ''}${p.Name}`,
      'AWS::Events::EventBus': () => `arn:${partition}:events:${stack.region}:${stack.accountId}:event-bus/${p.Name}`,
      // A role without RoleName: its logical id stands in for the name CloudFormation generates.
      'AWS::IAM::Role': () => `arn:${partition}:iam::${stack.accountId}:role/${p.RoleName ? walk(p.RoleName) : name}`,
      // The key id is known only once deployed: the logical id stands in for it.
      'AWS::KMS::Key': () => `arn:${partition}:kms:${stack.region}:${stack.accountId}:key/${name}`,
    };
    if ((attribute === 'Arn' || attribute === 'TopicArn') && arn[resource.Type]) return arn[resource.Type]!();
    throw new Error(`Fn::GetAtt ${name}.${attribute} (${resource.Type}) is not modelled`);
  };
  const condition = (name: string): boolean => {
    const body = template.Conditions?.[name];
    if (body === undefined) throw new Error(`unknown condition ${name}`);
    return truth(body);
  };
  const truth = (body: any): boolean => {
    if (body['Fn::Equals']) {
      const [a, b] = walk(body['Fn::Equals']);
      return JSON.stringify(a) === JSON.stringify(b);
    }
    if (body['Fn::Not']) return !truth(body['Fn::Not'][0]);
    if (body['Fn::And']) return body['Fn::And'].every(truth);
    if (body['Fn::Or']) return body['Fn::Or'].some(truth);
    if (body.Condition) return condition(body.Condition);
    throw new Error(`condition not modelled: ${JSON.stringify(body)}`);
  };
  const sub = (text: string, vars: Record<string, unknown> = {}): string =>
    text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
      if (name in vars) return String(walk(vars[name]));
      const dot = name.indexOf('.');
      return String(dot > 0 && !name.startsWith('AWS::') ? getAtt(name.slice(0, dot), name.slice(dot + 1)) : ref(name));
    });
  const walk = (v: any): any => {
    if (Array.isArray(v)) return v.map(walk).filter((x) => x !== NO_VALUE);
    if (v === null || typeof v !== 'object') return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const arg = v[key];
      if (key === 'Ref') return ref(arg);
      if (key === 'Fn::GetAtt')
        return getAtt(...((typeof arg === 'string' ? arg.split('.') : arg) as [string, string]));
      if (key === 'Fn::Sub') return typeof arg === 'string' ? sub(arg) : sub(arg[0], arg[1]);
      if (key === 'Fn::Join') return (walk(arg[1]) as unknown[]).join(arg[0]);
      if (key === 'Fn::Split') return String(walk(arg[1])).split(arg[0]);
      if (key === 'Fn::If') return walk(condition(arg[0]) ? arg[1] : arg[2]);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = walk(x);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  };
  return walk(value);
}
