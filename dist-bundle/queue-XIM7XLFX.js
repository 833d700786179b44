import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);
import{a as f,b as $}from"./chunk-S5EOVNSJ.js";import{a as m,b as y}from"./chunk-SX2Q3DQQ.js";import{e as n,f as w,g as h,h as g}from"./chunk-EWNVOTDI.js";import"./chunk-7QWMKDIK.js";var x=`usage: drimbox queue list [--state pending|sending|done|waiting-retry|dead] [--json]
       drimbox queue inbox [--state received|waiting|held|done|rejected|duplicate|failed] [--json]
       drimbox queue release ID --by NAME         publish a held report: its study's patient was checked by a person
       drimbox queue refuse ID --by NAME          never publish a held report
       drimbox queue retry ID... | --all-dead      make DMP operations due now
       drimbox queue retry-inbox ID...             process stored report messages again
       drimbox queue purge --older-than DAYS [--include-dead]`,q=["pending","sending","done","waiting-retry","dead"],I={summary:"the DMP outbox and the report inbox: what is waiting, stuck or dead, and why",async run(d){let{values:t,positionals:i}=w(d,{...h,state:{type:"string"},json:{type:"boolean"},"all-dead":{type:"boolean"},"older-than":{type:"string"},"include-dead":{type:"boolean"},by:{type:"string"}}),[o,...u]=i;if(t.help||!o)return process.stdout.write(x+`
`),t.help?0:2;let D=g(t),c=m(y(D.dataDir));try{let a=new $(c),l=new f(c);switch(o){case"list":{if(t.state&&!q.includes(t.state))throw new n(`unknown state "${t.state}"`);let r=a.list({state:t.state});if(t.json)process.stdout.write(JSON.stringify(r,null,2)+`
`);else{let e=a.counts();process.stdout.write(`outbox: ${Object.entries(e).map(([s,p])=>`${p} ${s}`).join(", ")}
`);for(let s of r){let p=s.state==="waiting-retry"?` next ${s.nextAttemptAt}`:"";process.stdout.write(`#${s.id} ${s.op.padEnd(8)} ${s.state.padEnd(13)} attempts ${s.attempts} ${s.uniqueId}${p}${s.lastError?`
      ${s.lastError}`:""}
`)}}return 0}case"inbox":{let r=l.list({state:t.state});if(t.json)process.stdout.write(JSON.stringify(r.map(({raw:e,...s})=>({...s,bytes:e.length})),null,2)+`
`);else for(let e of r)process.stdout.write(`#${e.id} ${e.receivedAt} ${e.channel} ${e.messageType??""} ${e.state}${e.error?` \u2014 ${e.error}`:""}
`);return 0}case"retry":{let r=t["all-dead"]?a.retry("all-dead"):a.retry(b(u));return process.stdout.write(`${r} operation(s) due now
`),0}case"retry-inbox":{let r=b(u).filter(e=>l.retry(e)).length;return process.stdout.write(`${r} message(s) will be processed again
`),0}case"release":case"refuse":{let r=t.by?.trim();if(!r)throw new n(`${o} needs --by NAME: who checked the patient (kept with the report)`);let e=b(u).filter(s=>o==="release"?l.release(s,r):l.refuse(s,r));return process.stdout.write(`${e.length} held report(s) ${o==="release"?"released: they will be published":"refused: they will not be published"}
`),e.length===u.length?0:1}case"purge":{let r=Number(t["older-than"]);if(!Number.isFinite(r)||r<0)throw new n("purge needs --older-than DAYS");let e=a.purge({before:new Date(Date.now()-r*864e5),includeDead:t["include-dead"]});return process.stdout.write(`${e} finished operation(s) purged
`),0}default:throw new n(`unknown action "${o}"
${x}`)}}finally{c.close()}}};function b(d){if(d.length===0)throw new n('give the ids to retry (see "drimbox queue list")');return d.map(t=>{let i=Number(t.replace(/^#/,""));if(!Number.isInteger(i)||i<=0)throw new n(`"${t}" is not an id`);return i})}export{I as command};
