var M=0,R=0,Z=Date.now(),Q=0;
function Y(){var t=d.documentElement,b=d.body,hh=Math.max(t.scrollHeight,b?b.scrollHeight:0),y=w.scrollY+w.innerHeight;if(hh)M=Math.max(M,Math.min(100,Math.round(y/hh*100)))}
function X(){if(Z){R+=Date.now()-Z;Z=0}if(L!=null&&(M>Q||R>=3e3)){T("engagement",{u:l.href,sd:M,e:R});Q=M;R=0}}
w.addEventListener("scroll",Y);w.addEventListener("load",Y);d.addEventListener("visibilitychange",function(){d.visibilityState=="hidden"?X():Z=Date.now()});
B.push(function(){if(L!=null)X();M=0;Q=0;R=0;Z=Date.now();setTimeout(Y,50)});
