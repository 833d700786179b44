import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{d as i,e as r,f as s,g as c,h as t}from"./chunk-EWNVOTDI.js";import"./chunk-7QWMKDIK.js";var a=`usage: drimbox config show [--config FILE]   the effective configuration (defaults < file < DRIMBOX_* env)
       drimbox config keys                     every key, its environment variable and default
       drimbox config check [--config FILE]    validate, exit 1 naming the bad key`,l={summary:"show, list or check the configuration",async run(f){let{values:e,positionals:u}=s(f,c),[n]=u;if(e.help||!n)return process.stdout.write(a+`
`),e.help?0:2;switch(n){case"show":return process.stdout.write(JSON.stringify(t(e),null,2)+`
`),0;case"check":return t(e),process.stdout.write(`configuration OK
`),0;case"keys":for(let o of i())process.stdout.write(`${o.path.join(".").padEnd(36)} ${o.env.padEnd(44)} ${JSON.stringify(o.value)}
`);return 0;default:throw new r(`unknown action "${n}"
${a}`)}}};export{l as command};
